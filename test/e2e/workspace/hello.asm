; hello.asm: a boot-sector guest that writes a greeting to the debug port (0xE9)
; and leaves through the exit device (0xF4).
bits 16
org 0x7c00

start:
    mov si, msg             ; DS:SI -> the greeting
.next:
    lodsb
    test al, al
    jz .done
    out 0xe9, al            ; KVM_EXIT_IO to userspace, one byte
    jmp .next
.done:
    mov al, 0
    out 0xf4, al            ; exit code 0
    hlt

msg: db "Hello from the guest", 10, 0
