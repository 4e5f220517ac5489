// Hyper-V Top-Level Functional Specification numbers as Linux spells them (include/hyperv/hvgdk.h,
// hvgdk_mini.h, arch/x86/include/asm/hyperv-tlfs.h): CPUID leaves and their feature bits, synthetic
// MSRs, hypercall codes, the hypercall input value layout and the status codes.

// ---------------------------------------------------------------- CPUID leaves (TLFS 2.4)
export const HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS = 0x40000000, HYPERV_CPUID_INTERFACE = 0x40000001,
  HYPERV_CPUID_VERSION = 0x40000002, HYPERV_CPUID_FEATURES = 0x40000003, HYPERV_CPUID_ENLIGHTMENT_INFO = 0x40000004,
  HYPERV_CPUID_IMPLEMENT_LIMITS = 0x40000005, HYPERV_CPUID_NESTED_FEATURES = 0x4000000a,
  HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS = 0x40000080, HYPERV_CPUID_SYNDBG_INTERFACE = 0x40000081,
  HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES = 0x40000082;
/** "Hv#1" in HYPERV_CPUID_INTERFACE.EAX: the vCPU has Hyper-V (kvm_cpuid_has_hyperv). */
export const HYPERV_CPUID_SIGNATURE_EAX = 0x31237648;

/** HYPERV_CPUID_FEATURES.EAX: partition privilege mask, low half (TLFS 2.4.4). */
export const HV_MSR_VP_RUNTIME_AVAILABLE = 1 << 0, HV_MSR_TIME_REF_COUNT_AVAILABLE = 1 << 1,
  HV_MSR_SYNIC_AVAILABLE = 1 << 2, HV_MSR_SYNTIMER_AVAILABLE = 1 << 3, HV_MSR_APIC_ACCESS_AVAILABLE = 1 << 4,
  HV_MSR_HYPERCALL_AVAILABLE = 1 << 5, HV_MSR_VP_INDEX_AVAILABLE = 1 << 6, HV_MSR_RESET_AVAILABLE = 1 << 7,
  HV_MSR_STAT_PAGES_AVAILABLE = 1 << 8, HV_MSR_REFERENCE_TSC_AVAILABLE = 1 << 9, HV_MSR_GUEST_IDLE_AVAILABLE = 1 << 10,
  HV_ACCESS_FREQUENCY_MSRS = 1 << 11, HV_ACCESS_REENLIGHTENMENT = 1 << 13, HV_ACCESS_TSC_INVARIANT = 1 << 15;
/** HYPERV_CPUID_FEATURES.EBX: partition privilege mask, high half. */
export const HV_POST_MESSAGES = 1 << 4, HV_SIGNAL_EVENTS = 1 << 5, HV_DEBUGGING = 1 << 11,
  HV_ENABLE_EXTENDED_HYPERCALLS = 1 << 20;
/** HYPERV_CPUID_FEATURES.EDX. */
export const HV_X64_GUEST_DEBUGGING_AVAILABLE = 1 << 1, HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE = 1 << 4,
  HV_FEATURE_FREQUENCY_MSRS_AVAILABLE = 1 << 8, HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE = 1 << 10,
  HV_FEATURE_DEBUG_MSRS_AVAILABLE = 1 << 11, HV_FEATURE_EXT_GVA_RANGES_FLUSH = 1 << 14,
  HV_X64_HYPERCALL_XMM_OUTPUT_AVAILABLE = 1 << 15, HV_STIMER_DIRECT_MODE_AVAILABLE = 1 << 19;
/** HYPERV_CPUID_ENLIGHTMENT_INFO.EAX: recommendations. */
export const HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED = 1 << 2, HV_X64_APIC_ACCESS_RECOMMENDED = 1 << 3,
  HV_X64_RELAXED_TIMING_RECOMMENDED = 1 << 5, HV_DEPRECATING_AEOI_RECOMMENDED = 1 << 9,
  HV_X64_CLUSTER_IPI_RECOMMENDED = 1 << 10, HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED = 1 << 11;
/** HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES.EAX. */
export const HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING = 1 << 1;

// ---------------------------------------------------------------- synthetic MSRs (TLFS 2.5, 3.13, 12)
export const HV_X64_MSR_GUEST_OS_ID = 0x40000000, HV_X64_MSR_HYPERCALL = 0x40000001, HV_X64_MSR_VP_INDEX = 0x40000002,
  HV_X64_MSR_RESET = 0x40000003, HV_X64_MSR_VP_RUNTIME = 0x40000010, HV_X64_MSR_TIME_REF_COUNT = 0x40000020,
  HV_X64_MSR_REFERENCE_TSC = 0x40000021, HV_X64_MSR_TSC_FREQUENCY = 0x40000022, HV_X64_MSR_APIC_FREQUENCY = 0x40000023;
/** The range KVM's kvm_get_msr_common/kvm_set_msr_common send to kvm_hv_get/set_msr_common. */
export const HV_X64_MSR_FIRST = 0x40000000, HV_X64_MSR_LAST = 0x400000ff;
/** HV_X64_MSR_HYPERCALL: bit 0 enable, bits 63:12 the page's GPA. */
export const HV_X64_MSR_HYPERCALL_ENABLE = 0x1, HV_X64_MSR_HYPERCALL_PAGE_ADDRESS_SHIFT = 12;
export const HV_X64_MSR_TSC_REFERENCE_ENABLE = 0x1;
/** HYPERV_LINUX_OS_ID as the selftests write it into GUEST_OS_ID. */
export const HYPERV_LINUX_OS_ID = 0x8100n << 48n;

// ---------------------------------------------------------------- hypercalls (TLFS 3.7, Appendix A)
export const HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE = 0x0002, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST = 0x0003,
  HVCALL_NOTIFY_LONG_SPIN_WAIT = 0x0008, HVCALL_SEND_IPI = 0x000b, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX = 0x0013,
  HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX = 0x0014, HVCALL_SEND_IPI_EX = 0x0015, HVCALL_POST_MESSAGE = 0x005c,
  HVCALL_SIGNAL_EVENT = 0x005d, HVCALL_POST_DEBUG_DATA = 0x0069, HVCALL_RETRIEVE_DEBUG_DATA = 0x006a,
  HVCALL_RESET_DEBUG_SESSION = 0x006b, HV_EXT_CALL_QUERY_CAPABILITIES = 0x8001, HV_EXT_CALL_MAX = 0x8001 + 64;

/** Hypercall input value (TLFS 3.7): code 15:0, fast 16, variable header 26:17, rep count 43:32, rep start 59:48. */
export const HV_HYPERCALL_FAST_BIT = 1 << 16, HV_HYPERCALL_VARHEAD_OFFSET = 17, HV_HYPERCALL_REP_COMP_OFFSET = 32,
  HV_HYPERCALL_REP_START_OFFSET = 48;
/** Reserved bits of the input value as two 32-bit halves: 31:27 (incl. NESTED), 47:44 and 63:60. */
export const HV_HYPERCALL_RSVD_MASK_LO = 0xf8000000 | 0, HV_HYPERCALL_RSVD_MASK_HI = 0xf000f000 | 0;

/** Hypercall result status (TLFS Appendix B). */
export const HV_STATUS_SUCCESS = 0, HV_STATUS_INVALID_HYPERCALL_CODE = 2, HV_STATUS_INVALID_HYPERCALL_INPUT = 3,
  HV_STATUS_INVALID_ALIGNMENT = 4, HV_STATUS_INVALID_PARAMETER = 5, HV_STATUS_ACCESS_DENIED = 6,
  HV_STATUS_OPERATION_DENIED = 8, HV_STATUS_INSUFFICIENT_MEMORY = 11, HV_STATUS_INVALID_PORT_ID = 17,
  HV_STATUS_INVALID_CONNECTION_ID = 18;

/** HV_GENERIC_SET formats of the _EX calls (TLFS 3.9). */
export const HV_GENERIC_SET_SPARSE_4K = 0, HV_GENERIC_SET_ALL = 1;
/** Vectors HVCALL_SEND_IPI accepts. */
export const HV_IPI_LOW_VECTOR = 0x10, HV_IPI_HIGH_VECTOR = 0xff;
/** KVM_HYPERV_CONN_ID_MASK: connection ids of HVCALL_SIGNAL_EVENT. */
export const KVM_HYPERV_CONN_ID_MASK = 0x00ffffff;

// ---------------------------------------------------------------- SynIC and synthetic timers (TLFS 11, 12)
export const HV_X64_MSR_SCONTROL = 0x40000080, HV_X64_MSR_SVERSION = 0x40000081, HV_X64_MSR_SIEFP = 0x40000082,
  HV_X64_MSR_SIMP = 0x40000083, HV_X64_MSR_EOM = 0x40000084, HV_X64_MSR_SINT0 = 0x40000090, HV_X64_MSR_SINT15 = 0x4000009f;
export const HV_X64_MSR_STIMER0_CONFIG = 0x400000b0, HV_X64_MSR_STIMER3_COUNT = 0x400000b7;
export const HV_SYNIC_CONTROL_ENABLE = 1, HV_SYNIC_SIMP_ENABLE = 1, HV_SYNIC_SIEFP_ENABLE = 1,
  HV_SYNIC_SINT_MASKED = 1 << 16, HV_SYNIC_SINT_AUTO_EOI = 1 << 17, HV_SYNIC_SINT_VECTOR_MASK = 0xff,
  HV_SYNIC_SINT_COUNT = 16, HV_SYNIC_FIRST_VALID_VECTOR = 16, HV_SYNIC_VERSION_1 = 1, HV_SYNIC_STIMER_COUNT = 4;
/** union hv_stimer_config: enable 0, periodic 1, lazy 2, auto_enable 3, apic_vector 11:4, direct_mode 12, sintx 19:16. */
export const HV_STIMER_ENABLE = 1 << 0, HV_STIMER_PERIODIC = 1 << 1, HV_STIMER_LAZY = 1 << 2,
  HV_STIMER_AUTOENABLE = 1 << 3, HV_STIMER_DIRECT_MODE = 1 << 12;
export const hv_stimer_apic_vector = (config: number): number => (config >>> 4) & 0xff;
export const hv_stimer_sintx = (config: number): number => (config >>> 16) & 0xf;
/** struct hv_message: 16-byte header {message_type u32, payload_size u8, message_flags u8, reserved u16, sender u64}, 240-byte payload. */
export const HV_MESSAGE_SIZE = 256, HV_MESSAGE_PAYLOAD_BYTE_COUNT = 240, HV_MESSAGE_HEADER_SIZE = 16,
  HV_MESSAGE_FLAG_PENDING = 1;
export const HVMSG_NONE = 0, HVMSG_TIMER_EXPIRED = 0x80000010;
/** struct hv_timer_message_payload: timer_index u32, reserved u32, expiration_time u64, delivery_time u64. */
export const HV_TIMER_MESSAGE_PAYLOAD_SIZE = 24;
/** struct hv_event_flags: 2048 bits per SINT slot. */
export const HV_EVENT_FLAGS_COUNT = 256 * 8, HV_EVENT_FLAGS_SLOT_SIZE = 256;
/** HV_X64_MSR_REFERENCE_TSC: bit 0 enable, bits 63:12 the page's GPA. */
export const HV_X64_MSR_TSC_REFERENCE_ADDRESS_SHIFT = 12;
/** struct hv_input_post_message: connection_id u32, reserved u32, message_type u32, payload_size u32, payload[240]. */
export const HV_POST_MESSAGE_INPUT_SIZE = 256;
export const HV_STATUS_INSUFFICIENT_BUFFERS = 19;
