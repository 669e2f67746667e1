/* A static x86-64 program with no libc: write a line, exit. In the i386 container host it cannot
 * run at all (execve fails with ENOEXEC, "Exec format error"), which is the point. */
static const char msg[] = "hello from x86-64\n";

void _start(void) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(1), "D"(1), "S"(msg), "d"(sizeof msg - 1) : "rcx", "r11", "memory");
  __asm__ volatile("syscall" : : "a"(60), "D"(0) : "rcx", "r11", "memory");
  __builtin_unreachable();
}
