; Adapter-test guest: the endings and rarer exits, one per %define (launch option `defines`).
;   TRIPLE   #UD with an empty IDT: #GP, #DF, triple fault (KVM_EXIT_SHUTDOWN)
;   INTERNAL a jump to guest-physical memory with nothing behind it (KVM_EXIT_INTERNAL_ERROR)
;   USERMSR  RDMSR of an MSR KVM does not know (KVM_EXIT_X86_RDMSR with KVM_CAP_X86_USER_SPACE_MSR)
;   HVRESET  Hyper-V HV_X64_MSR_RESET (KVM_EXIT_SYSTEM_EVENT, with the hyperv option)
;   HLT      HLT with interrupts off: the vCPU halts for good
bits 64
org 0x100000
start:
    mov rsp, 0x8000
%ifdef TRIPLE
    lidt [rel null_idt]
    ud2                         ; @ud2
%endif
%ifdef INTERNAL
    mov eax, 0x20000000
    jmp rax                     ; @jump_away
%endif
%ifdef USERMSR
    mov ecx, 0x12345
    rdmsr                       ; @user_rdmsr
%endif
%ifdef HVRESET
    mov ecx, 0x40000003
    mov eax, 1
    xor edx, edx
    wrmsr                       ; @hv_reset
%endif
%ifdef HLT
    cli
    hlt                         ; @hlt
%endif
    mov al, 0
    out 0xf4, al                ; @exit
null_idt: dw 0
    dq 0
