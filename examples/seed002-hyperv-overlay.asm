; Seed 002: the Hyper-V hypercall page. The guest fills a page with a pattern, makes it the
; hypercall page (HV_X64_MSR_HYPERCALL, enable bit), calls through it, disables it and looks at
; its page again. KVM today writes VMCALL/VMMCALL + RET into the page and the pattern is destroyed
; (exit code 0x0f, the first byte of the code); with KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE the VMM
; places an overlay there instead and, once disabled, the pattern is back (exit code 0xa5).
; Run with the machine option hyperv (and hypervOverlay for the overlay design).
; Debug port: the hypercall status as a digit, then the 3rd byte seen in the page while enabled
; (0xc1 VMCALL on Intel, 0xd9 VMMCALL on AMD), then 'I' (pattern intact) or 'D' (destroyed).
bits 64
org 0x100000
PAGE equ 0x300000
start:
    mov rdi, PAGE            ; the guest's own data: 4 KiB of 0xa5
    mov al, 0xa5
    mov ecx, 4096
    rep stosb
    mov ecx, 0x40000000      ; HV_X64_MSR_GUEST_OS_ID: Linux
    xor eax, eax
    mov edx, 0x81000000
    wrmsr
    mov ecx, 0x40000001      ; HV_X64_MSR_HYPERCALL: the page, enabled
    mov eax, PAGE | 1
    xor edx, edx
    wrmsr
    mov ecx, 0x0008          ; HVCALL_NOTIFY_LONG_SPIN_WAIT (slow call, no input)
    xor edx, edx
    xor r8d, r8d
    call PAGE                ; through the hypercall page
    add al, '0'              ; HV_STATUS_SUCCESS -> '0'
    out 0xe9, al
    mov al, [PAGE + 2]       ; what the guest sees there now
    out 0xe9, al
    mov ecx, 0x40000001      ; disable the hypercall page
    mov eax, PAGE
    xor edx, edx
    wrmsr
    mov rdi, PAGE            ; is the pattern back?
    mov al, 0xa5
    mov ecx, 4096
    repe scasb
    mov al, 'I'
    je .intact
    mov al, 'D'
.intact:
    out 0xe9, al
    mov al, [PAGE]
    out 0xf4, al
