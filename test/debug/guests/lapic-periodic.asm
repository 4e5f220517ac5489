; x2APIC periodic timer, vector 0x40, four ticks with HLT in between, each EOIed by the handler.
bits 64
org 0x100000
    lidt [rel idtr]
    mov ecx, 0x1b
    rdmsr
    or eax, 0x400                             ; x2APIC mode
    wrmsr
    xor edx, edx
    mov ecx, 0x80f
    mov eax, 0x1ff                            ; SPIV: software enable
    wrmsr
    mov ecx, 0x83e
    mov eax, 0xb                              ; divide by 1
    wrmsr
    mov ecx, 0x832
    mov eax, 0x20040                          ; LVTT: periodic, vector 0x40
    wrmsr
    mov ecx, 0x838
    mov eax, 100000                           ; TMICT
    wrmsr
    sti
idle:
    hlt
    cmp dword [ticks], 4
    jb idle
    mov ecx, 0x832
    mov eax, 0x10000                          ; masked
    wrmsr
    mov al, [ticks]
    out 0xf4, al
tick:
    push rax
    push rcx
    push rdx
    inc dword [ticks]
    mov ecx, 0x80b                            ; EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    pop rax
    iretq
ticks: dd 0
idtr: dw 0x40 * 16 + 15
    dq idt
align 16
idt: times 0x40 dq 0, 0
    dw tick & 0xffff, 8, 0x8e00, (tick >> 16) & 0xffff
    dd 0, 0
