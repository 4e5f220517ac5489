; Adapter-test guest for KVM_EXIT_HLT (launch option irqchip: false): HLT with interrupts off. KVM
; skips the HLT and returns KVM_EXIT_HLT; the VMM keeps the vCPU halted unless it has an NMI for it.
;   after the HLT: exit code 0x21 (reached only if the VMM re-entered KVM_RUN with nothing to deliver)
;   the NMI handler: prints 'N', exit code 0x4e
bits 64
org 0x100000
start:
    mov rsp, 0x8000
    lea rax, [rel nmi_handler]  ; the IDT gate of vector 2 (NMI): offset bits 15:0, 31:16, 63:32
    mov [rel idt + 2*16], ax
    shr rax, 16
    mov [rel idt + 2*16 + 6], ax
    shr rax, 16
    mov [rel idt + 2*16 + 8], eax
    lidt [rel idtr]
    cli
    hlt                         ; @hlt
after_hlt:
    mov al, 0x21                ; @after_hlt
    out 0xf4, al
nmi_handler:
    mov al, 'N'                 ; @nmi
    out 0xe9, al
    mov al, 0x4e
    out 0xf4, al

align 16
idt:
    times 2*16 db 0
    dw 0, 0x08                  ; vector 2: selector 0x08 (64-bit code), offset filled in above
    db 0, 0x8e                  ; IST 0; present 64-bit interrupt gate, DPL 0
    dw 0
    dd 0, 0
idtr:
    dw 3*16 - 1
    dq idt
