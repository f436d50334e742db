// Opening and loading BPF objects: object, program, globals, layouts, features, test_run.
#pragma once

#include <bpfco/loader/features.hpp>
#include <bpfco/loader/global.hpp>
#include <bpfco/loader/object.hpp>
#include <bpfco/loader/program.hpp>
#include <bpfco/loader/test_run.hpp>
