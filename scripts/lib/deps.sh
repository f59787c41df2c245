# Shared by the scripts: make sure the C toolchain rmapfuzz builds with is
# present (bindgen needs libclang; the fuzzing build needs clang).
# Installs from Debian packages when missing; prints what it does.

_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "rmapfuzz: need root to run: $*" >&2
		return 1
	fi
}

_have_libclang() {
	ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 ||
		ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1
}

ensure_c_toolchain() {
	if command -v clang >/dev/null 2>&1 && _have_libclang; then
		return 0
	fi
	echo "rmapfuzz: installing clang and libclang-dev (needed by bindgen)" >&2
	_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-dev >/dev/null
}

ensure_cargo() {
	if ! command -v cargo >/dev/null 2>&1; then
		echo "rmapfuzz: cargo not found; install Rust (https://rustup.rs) first" >&2
		return 1
	fi
}
