// The KVM model: public API. See README.md.
export { Kvm, KVM_API_VERSION } from './kvm';
export type { CreateVmOptions } from './kvm';
export { KvmVm } from './vm';
export type { MemSlot } from './vm';
export { KvmVcpu } from './vcpu';
export * from './uapi';
export type { VmOptions, HypercallPolicy } from './options';
export type { KvmObserver, HwExitEvent, CacheAccessEvent, ControlBlockAccessEvent, NeverWrittenEvent, StaleCacheEvent, KvmBugEvent } from './observers';
export * from './x86/kvm_cache_regs';
export { VMX_REGS_LAZY_LOAD_SET } from './vmx/vmx';
export { SVM_REGS_LAZY_LOAD_SET } from './svm/svm';
export * as VMCS from './vmx/vmcs_fields';
export { vmcsFieldName } from './vmx/vmcs_names';
export * as SVM from './svm/svm_codes';
