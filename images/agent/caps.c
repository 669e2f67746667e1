#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* docker/moby's defaultCapabilities (oci/caps/defaults.go). */
static const int docker_default_caps[] = {
    CAP_CHOWN,  CAP_DAC_OVERRIDE,     CAP_FSETID,      CAP_FOWNER, CAP_MKNOD,
    CAP_NET_RAW, CAP_SETGID,          CAP_SETUID,      CAP_SETFCAP, CAP_SETPCAP,
    CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,    CAP_AUDIT_WRITE,
};

uint64_t caps_default_mask(void) {
  uint64_t m = 0;
  for (size_t i = 0; i < N_ELEMENTS(docker_default_caps); i++) m |= 1ull << docker_default_caps[i];
  return m;
}

void caps_drop_to(uint64_t keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      die_with_error("dropping capability %d from the bounding set", cap);
    }
  }
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {{0}};
  data[0].effective = data[0].permitted = (uint32_t)keep;
  data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die_with_error("capset");
}
