; Seed 003: KVM_HC_MAP_GPA_RANGE. With KVM_CAP_EXIT_HYPERCALL (bit 12) the hypercall exits to
; userspace (KVM_EXIT_HYPERCALL, nr 12, args gpa/npages/attrs); the VMM's reply (hypercall.ret)
; comes back in RAX. Without the capability RAX = -KVM_ENOSYS (-1000). The exit code is AL.
bits 64
org 0x100000
start:
    mov eax, 12             ; KVM_HC_MAP_GPA_RANGE
    mov rbx, 0x200000       ; gpa
    mov ecx, 16             ; npages
    mov edx, 0x10           ; attrs: 4K pages, encrypted
    vmcall
    out 0xf4, al
