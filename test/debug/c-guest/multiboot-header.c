/* A multiboot (version 1) header, linked with a C guest for loaders that boot only multiboot
   kernels (QEMU's -kernel with a 32-bit ELF): magic, flags 0 (load by the ELF program headers),
   checksum. In .text, so it lies in the file's first 8 KiB as the specification requires. */
__attribute__((section(".text.multiboot"), aligned(4), used))
static const unsigned int multiboot_header[3] = { 0x1BADB002u, 0u, -0x1BADB002u };
