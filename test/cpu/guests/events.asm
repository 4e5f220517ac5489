; Event mechanisms in 64-bit mode, chosen with -DCASE=n (the test drives the INTR/NMI lines):
;  1 STI shadow: IF=0, the test raises INTR 0x40 at STI; STI; NOP; NOP -> delivered before the 2nd NOP
;  2 MOV SS shadow: IF=1, the test raises INTR 0x40 at MOV SS -> delivered after the next NOP
;  3 NMI blocking: the test raises an NMI at the final HLT and again inside the handler; the
;    second waits for IRETQ
;  4 TF single-step: POPF sets TF; #DB traps record each following instruction
;  5 DR0 instruction breakpoint (fault, resumed with RF) and DR1 write breakpoint (trap)
;  6 #AC at CPL 3 with CR0.AM and RFLAGS.AC
; Results: RES+0.. qwords recorded by the handlers (saved RIPs, DR6), RES+0x100 count.
%include "lib.inc"
org 0x8000
CNT equ RES + 0x100
start:
    BOOT64
    call setup_idt64
    mov qword [CNT], 0
    mov edi, 0x40
    mov rsi, record
    mov edx, 0x8e00
    xor ecx, ecx
    call set_gate64
    mov edi, 2
    mov rsi, nmi
    mov edx, 0x8e00
    xor ecx, ecx
    call set_gate64
    mov edi, 1
    mov rsi, debug
    mov edx, 0x8e00
    xor ecx, ecx
    call set_gate64
%if CASE == 1
    sti                                         ; the test raises INTR just before this (IF = 0)
    nop
    nop
    hlt
%elif CASE == 2
    sti
    nop
    mov ax, ss
    mov ss, ax                                  ; the test raises INTR just before this (IF = 1)
    nop
    nop
    hlt
%elif CASE == 3
    hlt
%elif CASE == 4
    pushfq
    or qword [rsp], 0x100
    popfq
    nop
    nop
    hlt
%elif CASE == 5
    mov rax, bp_here
    mov dr0, rax
    mov rax, RES + 0x80
    mov dr1, rax
    mov eax, 0x00d00005                         ; L0 (execute, 1 byte), L1 (write, 4 bytes)
    mov dr7, rax
    nop
bp_here:
    mov dword [RES + 0x80], 1                   ; data breakpoint (trap after it)
    mov eax, [RES + 0x80]                       ; a read does not match R/W = 01
    hlt
%elif CASE == 6
    call setup_tss64
    mov edi, 0x83
    mov rsi, finish
    mov edx, 0xee00
    xor ecx, ecx
    call set_gate64
    mov rax, cr0
    or eax, 0x40000                             ; CR0.AM
    mov cr0, rax
    push U_DS | 3
    push STACK3
    push 0x40002                                ; RFLAGS.AC
    push U_CS64 | 3
    push user
    iretq
user:
    TRY mov eax, [RES + 0x81]                   ; misaligned at CPL 3 with AM and AC: #AC(0)
    mov eax, [RES + 0x84]                       ; aligned: fine
    int 0x83
finish:
    hlt
%endif
    hlt

; Records the saved RIP of each delivery.
record:
    push rax
    push rbx
    mov rbx, [CNT]
    mov rax, [rsp + 16]
    mov [RES + rbx * 8], rax
    inc qword [CNT]
    pop rbx
    pop rax
    iretq
nmi:
    push rax
    push rbx
    mov rbx, [CNT]
    mov rax, [rsp + 16]
    mov [RES + rbx * 8], rax
    inc qword [CNT]
    pop rbx
    pop rax
    nop                                         ; the test raises a second NMI around here
    nop
    iretq
; #DB: record saved RIP and DR6; resume with RF (instruction breakpoints) and stop single-stepping
; after three traps.
debug:
    push rax
    push rbx
    mov rbx, [CNT]
    mov rax, [rsp + 16]
    mov [RES + rbx * 8], rax
    mov rax, dr6
    mov [RES + 0x40 + rbx * 8], rax
    xor eax, eax
    mov dr6, rax
    inc qword [CNT]
    or qword [rsp + 32], 0x10000                ; RF
    cmp qword [CNT], 3
    jb .keep
    and qword [rsp + 32], ~0x100                ; TF off
.keep:
    pop rbx
    pop rax
    iretq
    IDT64_CODE
    TSS64_CODE
    GDT_TABLE
