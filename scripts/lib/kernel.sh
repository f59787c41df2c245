# Shared by the scripts that take --kernel-src TREE: the kernel variant is
# compiled in by ffi/build.rs from RMAPFUZZ_KERNEL_SRC (an absolute path),
# and `rmapfuzz` itself is run with --kernel-src.

kernel_src=""
rmapfuzz_kernel_args=()

# use_kernel_src TREE: check the tree, export it for build.rs.
use_kernel_src() {
	if [ ! -f "$1/mm/rmap.c" ]; then
		echo "rmapfuzz: --kernel-src $1: no mm/rmap.c there (expected a Linux source tree)" >&2
		exit 2
	fi
	kernel_src=$(cd "$1" && pwd)
	export RMAPFUZZ_KERNEL_SRC=$kernel_src
	rmapfuzz_kernel_args=(--kernel-src "$kernel_src")
}

# The variant to use when none was named: kernel with a tree, else mainline.
default_variant() {
	if [ -n "$kernel_src" ]; then echo kernel; else echo "${RMAPFUZZ_VARIANT:-mainline}"; fi
}

# check_variant SCRIPT VARIANT: refuse an unknown variant before building
# anything slow (with a tree, this builds rmapfuzz with it first, and a
# tree the extractor cannot use is reported here).
check_variant() {
	local known
	known=$(env -u RMAPFUZZ_KERNEL_SRC cargo run --release --quiet -- "${rmapfuzz_kernel_args[@]}" variants | awk '{print $1}') ||
		{ echo "$1: cannot list the variants (see above)" >&2; exit 2; }
	echo "$known" | grep -qx "$2" ||
		{ echo "$1: unknown variant $2 (known: $(echo $known))" >&2; exit 2; }
}
