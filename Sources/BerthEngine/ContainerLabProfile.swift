import Foundation

/// What an instance of an environment with `berth.containers: true` is granted on top of the
/// hardened defaults, so its learner can run rootless Podman and Buildah inside it: `/dev/fuse`
/// and a seccomp profile that is Docker's default profile plus the few system calls that create
/// and enter user namespaces and mount inside them. Nothing else changes: no `Privileged`, no
/// added capability, no Docker socket, `no-new-privileges`, `CapDrop ALL`, the same memory and
/// pids limits. See docs/container-labs.md for the security model.
///
/// The profile is built here, in code, rather than read from a file: the Docker Engine keeps its
/// default profile inside the daemon binary and Debian installs no copy of it, so Berth spells
/// out the same rules (moby's `profiles/seccomp/default.json` of Docker 20.10) and adds its own.
public enum ContainerLabProfile {
    /// The FUSE device, for `fuse-overlayfs`, the storage driver of rootless Podman on a file
    /// system (the container's own overlay root) that cannot hold an overlay upper directory.
    public static let fuseDevice = "/dev/fuse"

    /// System calls rootless Podman and Buildah need that Docker's default profile refuses to a
    /// container without `CAP_SYS_ADMIN`. Each was found by experiment (docs/container-labs.md):
    /// - `clone` with namespace flags (the default profile filters them out) and `unshare`:
    ///   create the user, mount, UTS and IPC namespaces of a nested container;
    /// - `setns`: join them (`podman exec`, conmon, the rootless pause process);
    /// - `mount`, `umount2`, `pivot_root`, `chroot`: build the nested root file system and copy
    ///   files into it (Buildah's copier chroots);
    /// - `sethostname`: the nested container's own UTS namespace.
    /// The kernel allows each of them only inside the new user namespace, where the learner is
    /// root over nothing but their own files; the learner's processes hold no capability in the
    /// instance's own namespace. `keyctl` stays refused: the image's `containers.conf` sets
    /// `keyring = false`. Everything else a nested container does goes through the default
    /// allow-list.
    public static let rootlessAdditions = ["chroot", "clone", "mount", "pivot_root", "sethostname", "setns", "umount2", "unshare"]

    /// Capabilities a container lab's root-run lab scripts get on top of
    /// ``LabChecks/scriptCapabilities``: `SETUID` and `SETGID`, so `check` and `solve` can run
    /// `podman` as the learner (`setpriv --reuid=1000 …`) and see the learner's images and
    /// containers. The learner's own processes (non-root, `no-new-privileges`) never hold them.
    public static let labScriptCapabilities = ["SETGID", "SETUID"]

    /// The seccomp profile as the JSON text Docker expects in `SecurityOpt` (`seccomp=<json>`), for
    /// a container holding `capabilities` (names without `CAP_`, as in `CapAdd`).
    public static func seccompJSON(capabilities: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, arrays and integers cannot fail; an empty profile would be
        // refused by the engine rather than run unconfined.
        guard let data = try? encoder.encode(profile(capabilities: capabilities)) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The profile for a container holding `capabilities`.
    static func profile(capabilities: [String]) -> SeccompProfile {
        let held = Set(capabilities.map { $0.uppercased().hasPrefix("CAP_") ? String($0.dropFirst(4)) : $0.uppercased() })
        var rules: [SeccompRule] = [SeccompRule(names: dockerDefaultAllowed + rootlessAdditions)]
        // Docker lets `personality` set only these execution domains (the default, Linux32,
        // UNAME26 and their combination, and a query).
        for persona: UInt64 in [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(SeccompRule(names: ["personality"], args: [SeccompArgument(index: 0, value: persona, op: "SCMP_CMP_EQ")]))
        }
        rules.append(SeccompRule(names: ["arch_prctl", "modify_ldt"]))
        // `clone3` cannot be filtered by its flags (they sit behind a pointer), so like Docker the
        // profile answers ENOSYS and the C library falls back to `clone`.
        rules.append(SeccompRule(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38))
        for (capability, names) in capabilityGated where held.contains(capability) {
            rules.append(SeccompRule(names: names))
        }
        return SeccompProfile(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
            archMap: [SeccompArch(architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
                      SeccompArch(architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"])],
            syscalls: rules)
    }

    /// System calls Docker's default profile allows only to a container holding a capability
    /// (other than `CAP_SYS_ADMIN`, whose calls a container-lab instance never gets beyond
    /// `rootlessAdditions`).
    static let capabilityGated: [(String, [String])] = [
        ("DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("SYS_BOOT", ["reboot"]),
        ("SYS_CHROOT", ["chroot"]),
        ("SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("SYS_PACCT", ["acct"]),
        ("SYS_PTRACE", ["kcmp", "process_madvise"]),
        ("SYS_RAWIO", ["iopl", "ioperm"]),
        ("SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("SYS_TTY_CONFIG", ["vhangup"]),
        ("SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy"]),
        ("SYSLOG", ["syslog"]),
    ]

    /// Docker's default allow-list (Docker 20.10, unconditional rules), in its order, without
    /// `io_uring_setup`, `io_uring_enter` and `io_uring_register`: Docker removed them from its
    /// default in version 25 (a large, often-exploited kernel surface), and Berth follows it.
    static let dockerDefaultAllowed = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
        "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
        "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
        "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
        "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
        "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
        "ftruncate", "ftruncate64", "futex", "futex_time64", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
        "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
        "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
        "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
        "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "lchown", "lchown32", "lgetxattr", "link", "linkat",
        "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
        "madvise", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
        "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget",
        "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "_newselect", "open",
        "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "poll", "ppoll",
        "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "pselect6", "pselect6_time64", "pwrite64",
        "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
        "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
        "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
        "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
        "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
        "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
        "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair",
        "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
        "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
        "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
        "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
        // Allowed since kernel 4.8 closed the ptrace escape from seccomp (Docker's `minKernel` rule).
        "process_vm_readv", "process_vm_writev", "ptrace",
    ]
}

/// A seccomp profile in the format of Docker's `--security-opt seccomp=`.
struct SeccompProfile: Encodable, Equatable {
    var defaultAction: String
    var defaultErrnoRet: Int
    var archMap: [SeccompArch]
    var syscalls: [SeccompRule]
}

/// An architecture and the sub-architectures the profile also covers.
struct SeccompArch: Encodable, Equatable {
    var architecture: String
    var subArchitectures: [String]
}

/// One rule: an action for the named system calls, optionally only for some argument values.
struct SeccompRule: Encodable, Equatable {
    var names: [String]
    var action = "SCMP_ACT_ALLOW"
    var args: [SeccompArgument] = []
    var errnoRet: Int?
}

/// An argument comparison of a rule.
struct SeccompArgument: Encodable, Equatable {
    var index: Int
    var value: UInt64
    var valueTwo: UInt64 = 0
    var op: String
}
