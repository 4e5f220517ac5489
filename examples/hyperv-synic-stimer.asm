; Hyper-V SynIC, a synthetic timer, the reference TSC page and HvPostMessage, on virtual time.
; Run with the machine option hyperv (the VMM activates each vCPU's SynIC with KVM_CAP_HYPERV_SYNIC2
; and provides QEMU's hyperv-testdev at port 0x3000, used here to create a message connection).
;  1. x2APIC on; SynIC message page (SIMP), event page (SIEFP) and SCONTROL enabled; SINT2 -> vector
;     0x50 (timer messages), SINT3 -> vector 0x51 with AutoEOI (posted messages).
;  2. STIMER0 periodic, 1 ms (10000 x 100 ns), message mode on SINT2; five ticks taken with HLT (virtual
;     time jumps to each deadline). The handler frees the message slot and EOIs.
;  3. The reference TSC page: the guest computes reference time from RDTSC with the page's scale and
;     offset and compares it with HV_X64_MSR_TIME_REF_COUNT read right after.
;  4. Hypercall page, then HvPostMessage to connection 0x10, which the VMM delivers into SIMP slot 3.
; Debug port 0xe9: "T5" (ticks), "P" (page and MSR agree; "p" if not), the hypercall status digit,
; then the posted message's 8 payload bytes as SINT3's slot holds them. Exit code: the tick count.
bits 64
org 0x100000
SIMP  equ 0x300000
SIEFP equ 0x301000
TSCPG equ 0x302000
HCALL equ 0x303000
INPUT equ 0x304000

%macro WRMSR64 2
    mov ecx, %1
    mov rax, %2
    mov rdx, rax
    shr rdx, 32
    wrmsr
%endmacro

start:
    lidt [rel idtr]
    mov rsp, 0x80000
    mov ecx, 0x1b                    ; IA32_APIC_BASE: x2APIC mode
    rdmsr
    or eax, 1 << 10
    wrmsr
    WRMSR64 0x80f, 0x1ff             ; x2APIC SPIV: software enable
    WRMSR64 0x40000083, SIMP | 1     ; HV_X64_MSR_SIMP
    WRMSR64 0x40000082, SIEFP | 1    ; HV_X64_MSR_SIEFP
    WRMSR64 0x40000080, 1            ; HV_X64_MSR_SCONTROL
    WRMSR64 0x40000092, 0x50         ; SINT2: vector 0x50
    WRMSR64 0x40000093, 0x20051      ; SINT3: vector 0x51, AutoEOI
    WRMSR64 0x400000b1, 10000        ; STIMER0_COUNT: 1 ms period
    WRMSR64 0x400000b0, (2 << 16) | 3 ; STIMER0_CONFIG: enable, periodic, SINT2
    sti
.ticks:
    cmp dword [rel ticks], 5
    jae .five
    hlt
    jmp .ticks
.five:
    WRMSR64 0x400000b0, 0            ; stop the timer
    mov al, 'T'
    out 0xe9, al
    mov eax, [rel ticks]
    add al, '0'
    out 0xe9, al

    ; ---- reference TSC page
    WRMSR64 0x40000021, TSCPG | 1    ; HV_X64_MSR_REFERENCE_TSC
    rdtsc
    shl rdx, 32
    or rax, rdx
    mul qword [TSCPG + 8]            ; rdx = tsc * scale >> 64
    add rdx, [TSCPG + 16]            ; + offset
    mov rbx, rdx
    mov ecx, 0x40000020              ; HV_X64_MSR_TIME_REF_COUNT
    rdmsr
    shl rdx, 32
    or rax, rdx
    sub rax, rbx                     ; MSR - page: 0 or a few units later
    mov bl, 'P'
    cmp dword [TSCPG], 0             ; a valid sequence
    je .bad
    cmp rax, 10
    jb .page
.bad:
    mov bl, 'p'
.page:
    mov al, bl
    out 0xe9, al

    ; ---- HvPostMessage through the hypercall page
    WRMSR64 0x40000000, 0x8100 << 48 ; HV_X64_MSR_GUEST_OS_ID
    WRMSR64 0x40000001, HCALL | 1    ; HV_X64_MSR_HYPERCALL
    mov eax, (0x10 << 24) | (4 << 16) | (0 << 8) | 3 ; hyperv-testdev: MSG_CONN_CREATE conn 0x10 -> VP 0 SINT3
    mov dx, 0x3000
    out dx, eax
    mov dword [INPUT], 0x10          ; hv_input_post_message: connection_id
    mov dword [INPUT + 8], 0x1234    ; message_type
    mov dword [INPUT + 12], 8        ; payload_size
    mov rax, 'SynIC ok'
    mov [INPUT + 16], rax
    mov ecx, 0x5c                    ; HVCALL_POST_MESSAGE (slow: input by GPA)
    mov edx, INPUT
    xor r8d, r8d
    call HCALL
    add al, '0'
    out 0xe9, al
.msg:
    cmp dword [rel msgs], 0
    jne .got
    hlt
    jmp .msg
.got:
    mov rsi, SIMP + 3 * 256 + 16     ; the slot's payload
    mov ecx, 8
.print:
    lodsb
    out 0xe9, al
    loop .print
    mov eax, [rel ticks]
    out 0xf4, al

timer_isr:                           ; SINT2: a timer message
    push rax
    push rcx
    push rdx
    inc dword [rel ticks]
    mov dword [SIMP + 2 * 256], 0    ; free the slot (message_type = HVMSG_NONE)
    mov ecx, 0x80b                   ; x2APIC EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    pop rax
    iretq

msg_isr:                             ; SINT3: AutoEOI, no EOI write
    inc dword [rel msgs]
    iretq

align 4
ticks: dd 0
msgs: dd 0
align 16
idtr: dw 16 * 0x52 - 1
    dq idt
align 16
idt: times 0x50 dq 0, 0
    dw timer_isr & 0xffff, 8, 0x8e00, (timer_isr >> 16) & 0xffff
    dd 0, 0
    dw msg_isr & 0xffff, 8, 0x8e00, (msg_isr >> 16) & 0xffff
    dd 0, 0
