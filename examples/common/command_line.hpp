// The examples' command lines, parsed by CLI11 with one help layout: a usage error prints the
// problem and the usage line and exits 2, --help prints the help on stdout and exits 0.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace examples {

/// A CLI::App with the examples' help layout and -h/--help.
class command_line : public CLI::App {
public:
    command_line(std::string name, std::string description) : CLI::App(std::move(description), std::move(name)) {
        layout_->label("Usage", "usage");
        layout_->column_width(28);
        formatter(layout_);
        set_help_flag("-h,--help", "print this text and exit");
        // As the hand-written parsers did: an option given twice takes the last value.
        option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }

    /// "usage: NAME [OPTIONS] ..." and a newline.
    std::string usage() const { return layout_->make_usage(this, get_name()); }

    /// An option taking a number (see whole_number), shown in the help as TYPE.
    template <class T>
    CLI::Option* add_number(std::string name, T& value, std::string type, std::string help,
                            unsigned long long min = 0);

    /// Parses argv, or exits: 0 after printing the help, 2 after a usage error.
    void parse_or_exit(int argc, char** argv) {
        try {
            parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            std::fputs(help().c_str(), stdout);
            std::exit(0);
        } catch (const CLI::ParseError& e) {
            fmt::print(stderr, "{}: {}\n{}", get_name(), e.what(), usage());
            std::exit(2);
        }
    }

private:
    std::shared_ptr<CLI::Formatter> layout_ = std::make_shared<CLI::Formatter>();
};

/// For transform(): decimal digits only, at least min: what the examples call a number. CLI11's
/// own conversion also takes signs, hex and octal ("010" would be 8), which no option here means;
/// the leading zeros are dropped before it sees the text.
inline CLI::Validator whole_number(unsigned long long min = 0) {
    return CLI::Validator(
        [min](std::string& text) -> std::string {
            const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            if (digits) text.erase(0, std::min(text.find_first_not_of('0'), text.size() - 1));
            errno = 0;
            if (!digits || text.size() > 20 || std::strtoull(text.c_str(), nullptr, 10) < min || errno == ERANGE)
                return fmt::format("expected a whole number >= {}, not '{}'", min, text);
            return {};
        },
        "");
}

/// A command name as the kernel keeps it (a task's comm): 1 to 15 characters.
inline CLI::Validator command_name() {
    return CLI::Validator(
        [](const std::string& name) -> std::string {
            if (name.empty() || name.size() > 15) return fmt::format("expected 1 to 15 characters, not '{}'", name);
            return {};
        },
        "");
}

template <class T>
CLI::Option* command_line::add_number(std::string name, T& value, std::string type, std::string help,
                                      unsigned long long min) {
    return add_option(std::move(name), value, std::move(help))
        ->type_name(std::move(type))
        ->transform(whole_number(min));
}

}  // namespace examples
