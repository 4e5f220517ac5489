; Seed 000: the other vendor's hypercall. On Intel this is VMMCALL: KVM intercepts the #UD and,
; with KVM_X86_QUIRK_FIX_HYPERCALL_INSN on, patches it to VMCALL and re-executes it (RAX = 0).
; Run with the quirk off (or hypercallPolicy 'ud') to see the #UD handler print "U" instead.
bits 64
org 0x100000
start:
    lidt [rel idtr]
    mov eax, 11             ; KVM_HC_SCHED_YIELD
    xor ebx, ebx
hypercall:
    vmmcall                 ; wrong vendor on Intel: #UD -> KVM patches to 0f 01 c1
    add al, '0'             ; RAX = 0 -> '0'
    out 0xe9, al
    mov al, [rel hypercall + 2]
    out 0xf4, al            ; exit code: the third byte (0xc1 after patching, 0xd9 if not)
ud_handler:
    mov al, 'U'
    out 0xe9, al
    mov al, 6
    out 0xf4, al
idtr: dw 255
    dq idt
idt: times 6 dq 0, 0
    dw ud_handler & 0xffff, 8, 0x8e00, (ud_handler >> 16) & 0xffff
    dd 0, 0
