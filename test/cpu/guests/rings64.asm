; Privilege transitions in 64-bit mode (SDM Vol. 3A 5.8, 6.14; Vol. 2 SYSCALL/SYSRET,
; SYSENTER/SYSEXIT, SWAPGS): IRETQ to ring 3; back to ring 0 through INT 0x80 (TSS RSP0),
; INT 0x81 (IST1), SYSCALL/SYSRETQ (with SWAPGS), a 64-bit call gate and RETFQ, SYSENTER/SYSEXITQ;
; ring-3 faults (#GP for HLT, a DPL-0 gate and a DPL-0 data segment, #PF on a supervisor page).
; Results at RES (qwords): +0 RSP in the INT 0x80 handler, +8 CS and +16 SS of its frame,
; +24 RSP in the IST handler, +32 RCX and +40 R11 at the SYSCALL entry, +48 CS back in ring 3,
; +56 RSP and +64 pushed CS in the call-gate handler, +72 CS and +80 RSP at the SYSENTER entry,
; +88 CS and +96 SS after SYSEXIT, +104 the GS-relative value read after SWAPGS, +112 CPL-3 marker.
%include "lib.inc"
org 0x8000
start:
    BOOT64
    call setup_idt64
    call setup_tss64
    mov edi, 0x80
    mov rsi, int80
    mov edx, 0xee00                             ; DPL 3 interrupt gate
    xor ecx, ecx
    call set_gate64
    mov edi, 0x81
    mov rsi, int81
    mov edx, 0xee00
    mov ecx, 1                                  ; IST1
    call set_gate64
    mov edi, 0x82
    mov rsi, int80
    mov edx, 0x8e00                             ; DPL 0: INT 0x82 from ring 3 is #GP
    xor ecx, ecx
    call set_gate64
    mov edi, 0x83
    mov rsi, finish
    mov edx, 0xee00
    xor ecx, ecx
    call set_gate64
    ; 64-bit call gate at GATE, DPL 3, to K_CS64:gate_entry.
    mov rax, gate_entry
    mov word [gdt + GATE], ax
    mov word [gdt + GATE + 2], K_CS64
    mov word [gdt + GATE + 4], 0xec00
    shr rax, 16
    mov word [gdt + GATE + 6], ax
    shr rax, 16
    mov dword [gdt + GATE + 8], eax
    mov dword [gdt + GATE + 12], 0
    ; SYSCALL: STAR[47:32] = kernel CS, STAR[63:48] = user base (CS32); LSTAR; SFMASK = IF.
    mov ecx, 0xc0000081
    xor eax, eax
    mov edx, (U_CS32 << 16) | K_CS64
    wrmsr
    mov ecx, 0xc0000082
    mov rax, syscall_entry
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xc0000084
    mov eax, 0x200
    xor edx, edx
    wrmsr
%ifndef KVM
    mov ecx, 0xc0000080                         ; EFER.SCE
    rdmsr
    or eax, 1
    wrmsr
    mov ecx, 0xc0000102                         ; KERNEL_GS_BASE
    mov eax, 0x9000
    xor edx, edx
    wrmsr
    mov qword [0x9010], 0x6565
%endif
    mov ecx, 0x174                              ; SYSENTER_CS/ESP/EIP
    mov eax, SE_CS
    xor edx, edx
    wrmsr
    mov ecx, 0x175
    mov eax, STACK0 - 0x100
    wrmsr
    mov ecx, 0x176
    mov eax, sysenter_entry
    wrmsr
    ; A supervisor-only 2 MiB page at 4 MiB.
    mov byte [PD + 2 * 8], 0x83
    mov rax, cr3
    mov cr3, rax
    ; IRETQ to ring 3.
    push U_DS | 3
    push STACK3
    push 2
    push U_CS64 | 3
    push user
    iretq

user:
    mov qword [RES + 112], 3
    int 0x80
    int 0x81
%ifndef KVM
    syscall
%endif
    mov ax, cs
    mov [RES + 48], ax
    call far [rel gate_ptr]
    mov rcx, rsp
    mov rdx, after_sysexit
    sysenter
after_sysexit:
    mov ax, cs
    mov [RES + 88], ax
    mov ax, ss
    mov [RES + 96], ax
    TRY hlt                                     ; #GP(0): privileged
    TRY int 0x82                                ; #GP(0x82*8+2): gate DPL < CPL
    mov ax, K_DS
    TRY mov ds, ax                              ; #GP(0x18): DPL 0 data segment
    TRY mov eax, [0x400000]                     ; #PF(5): user read of a supervisor page
    TRY mov dword [0x400000], 1                 ; #PF(7): user write
    int 0x83
gate_ptr:
    dq 0
    dw GATE | 3

int80:
    mov [RES + 0], rsp
    mov rax, [rsp + 8]
    mov [RES + 8], rax
    mov rax, [rsp + 32]
    mov [RES + 16], rax
    iretq
int81:
    mov [RES + 24], rsp
    iretq
syscall_entry:
    mov [RES + 32], rcx
    mov [RES + 40], r11
    swapgs
    mov rax, [gs:0x10]
    mov [RES + 104], rax
    swapgs
    o64 sysret
gate_entry:
    mov [RES + 56], rsp
    mov rax, [rsp + 8]
    mov [RES + 64], rax
    o64 retf
sysenter_entry:
    mov ax, cs
    mov [RES + 72], ax
    mov [RES + 80], rsp
    o64 sysexit
finish:
    hlt
    IDT64_CODE
    TSS64_CODE
    GDT_TABLE
