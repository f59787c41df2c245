# Shared by the scripts that take --kernel-src TREE (and --reference-src
# BASE, --reference REF, --known-warnings FILE): the kernel variant (and
# kernel-base) is compiled into the fuzz binaries by ffi/build.rs from
# RMAPFUZZ_KERNEL_SRC (and RMAPFUZZ_REFERENCE_SRC), absolute paths; the
# reference reaches the fuzz targets as RMAPFUZZ_REFERENCE, the known
# warnings as RMAPFUZZ_KNOWN_WARNINGS (an absolute path; cleared when the
# script was not given one, so a stale setting never acknowledges anything
# unasked); `rmapfuzz` itself is run with the same flags (rmapfuzz_cli), so
# every command and every hint names the trees and the file.

kernel_src="" reference_src="" reference="" known_warnings=""
rmapfuzz_kernel_args=()
unset RMAPFUZZ_KNOWN_WARNINGS

# linux_tree FLAG DIR: DIR as an absolute path, or exit naming FLAG.
linux_tree() {
	if [ ! -f "$2/mm/rmap.c" ]; then
		echo "rmapfuzz: $1 $2: no mm/rmap.c there (expected a Linux source tree)" >&2
		exit 2
	fi
	(cd "$2" && pwd)
}

# use_kernel_src TREE: check the tree, export it for build.rs.
use_kernel_src() {
	kernel_src=$(linux_tree --kernel-src "$1") || exit 2
	export RMAPFUZZ_KERNEL_SRC=$kernel_src
	rmapfuzz_kernel_args+=(--kernel-src "$kernel_src")
}

# use_reference_src BASE: the base tree `kernel` is compared with.
use_reference_src() {
	reference_src=$(linux_tree --reference-src "$1") || exit 2
	export RMAPFUZZ_REFERENCE_SRC=$reference_src
	rmapfuzz_kernel_args+=(--reference-src "$reference_src")
}

# use_reference REF: none, oracle or a C variant, for every run.
use_reference() {
	reference=$1
	export RMAPFUZZ_REFERENCE=$reference
	rmapfuzz_kernel_args+=(--reference "$reference")
}

# use_known_warnings FILE: acknowledge the warnings FILE lists (README,
# "Known warnings") in every run: the fuzz targets and the CLI.
use_known_warnings() {
	if [ ! -f "$1" ]; then
		echo "rmapfuzz: --known-warnings $1: no such file" >&2
		exit 2
	fi
	known_warnings=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	export RMAPFUZZ_KNOWN_WARNINGS=$known_warnings
	rmapfuzz_kernel_args+=(--known-warnings "$known_warnings")
}

# check_known_warnings SCRIPT: stop before anything slow if the file of
# --known-warnings does not parse (rmapfuzz names its file, line and
# reason); needs cargo and the C toolchain.
check_known_warnings() {
	[ -n "$known_warnings" ] || return 0
	rmapfuzz_plain known-warnings "$known_warnings" >&2 ||
		{ echo "$1: --known-warnings $known_warnings: not a known-warnings file (see above)" >&2; exit 2; }
}

# Refuse --reference-src without --kernel-src (call after the arguments).
check_kernel_args() {
	if [ -n "$reference_src" ] && [ -z "$kernel_src" ]; then
		echo "$1: --reference-src needs --kernel-src" >&2
		exit 2
	fi
}

# The CLI with this script's trees and reference.
rmapfuzz_cli() {
	rmapfuzz_plain "${rmapfuzz_kernel_args[@]}" "$@"
}

# The same command line, for hints printed to the user.
rmapfuzz_hint() {
	printf 'cargo run --release --'
	printf ' %q' "${rmapfuzz_kernel_args[@]}" "$@"
	printf '\n'
}

# The variant to use when none was named: kernel with a tree, else
# RMAPFUZZ_VARIANT or mainline. (kernel-vma, the tree under its own
# mm/vma.c, is named with --variant: Debian's 7.2 and 7.3 warn on an
# injected failure within seconds there, README "What the released trees
# showed".)
default_variant() {
	if [ -n "$kernel_src" ]; then echo kernel; else echo "${RMAPFUZZ_VARIANT:-mainline}"; fi
}

# vma_world VARIANT: 1 if a fuzz build must carry the tree's own mm/vma.c
# (ffi/build_tree_vma.rs; RMAPFUZZ_KERNEL_VMA), 0 to leave it out: it is
# compiled and instrumented only when it is what is fuzzed.
vma_world() {
	if [ "$1" = kernel-vma ]; then echo 1; else echo 0; fi
}

# check_variant SCRIPT VARIANT: refuse an unknown variant before building
# anything slow (with a tree, this builds rmapfuzz with it first, and a
# tree the extractor cannot use is reported here).
check_variant() {
	local known
	known=$(rmapfuzz_cli variants | awk '{print $1}') ||
		{ echo "$1: cannot list the variants (see above)" >&2; exit 2; }
	echo "$known" | grep -qx "$2" ||
		{ echo "$1: unknown variant $2 (known: $(echo $known))" >&2; exit 2; }
}
