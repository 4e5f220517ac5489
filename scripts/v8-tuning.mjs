// V8 tuning for the Node processes that run the emulator: the CLI, the bench, the fuzz script and
// the debug adapter when it runs as its own process (not the extension host: inline mode leaves
// VS Code's process alone).
//
// A VM exit goes through a chain of small functions named after KVM's (vmx_vcpu_run,
// vmx_handle_exit, kvm_emulate_cpuid, kvm_skip_emulated_instruction, kvm_rip_read, vmcs reads ...).
// TurboFan's default cumulative inlining budget (920 bytes of bytecode per optimised function) runs
// out half-way down that chain, and which calls are left out depends on the order in which functions
// happen to be optimised: the same build then runs at 2.5 or 6 million exits per second from one
// process to the next. A larger budget inlines the whole chain. Optimising on the main thread
// (no concurrent recompilation) makes what gets optimised, and with which feedback, the same from
// run to run. Measured with `npm run bench -- --section kvm`: CPUID exits 2.5-6M/s per process
// without the flags; with them 6.0-6.4M/s in most runs (a process that starts badly still happens).
export const V8_TUNING_FLAGS = ['--max-inlined-bytecode-size-cumulative=2000', '--no-concurrent-recompilation'];

/** JavaScript that applies the flags; runs before any emulator code is optimised. */
export const V8_TUNING_JS = `require("node:v8").setFlagsFromString(${JSON.stringify(V8_TUNING_FLAGS.join(' '))});`;
