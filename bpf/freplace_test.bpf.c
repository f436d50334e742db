// freplace: `freplace_target` calls the global function `verdict`, which says XDP_PASS;
// `drop_instead` (SEC("freplace/verdict")) replaces it in the loaded target and says XDP_DROP.
// The test opens this object twice: the target from one copy, the replacement from the other.
#include <bpfco/common.bpf.h>

// Global (not static) and not inlined: the verifier checks it on its own, so it can be replaced.
__attribute__((noinline)) int verdict(struct xdp_md *ctx)
{
    return ctx ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int freplace_target(struct xdp_md *ctx)
{
    return verdict(ctx);
}

SEC("freplace/verdict")
int drop_instead(struct xdp_md *ctx)
{
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
