; Adapter-test guest (and the e2e suite's): what a KVM developer tries first. CPUID, RDMSR and
; WRMSR (IA32_APICBASE, 0x1b, written back unchanged), a byte to the 16550 serial port (0x3f8), a
; KVM hypercall, then the exit device.
bits 64
org 0x100000
start:
    mov rsp, 0x8000
    mov eax, 1
    cpuid                       ; @cpuid
    mov ecx, 0x1b               ; IA32_APICBASE
    rdmsr                       ; @rdmsr
    wrmsr                       ; @wrmsr
    mov dx, 0x3f8               ; COM1
    mov al, 'K'
    out dx, al                  ; @serial
    mov eax, 12                 ; KVM_HC_MAP_GPA_RANGE
    mov ebx, 0x200000
    mov ecx, 1
    xor edx, edx
    vmcall                      ; @vmcall
    mov al, 0
    out 0xf4, al                ; @exit
