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
	local want=()
	command -v clang >/dev/null 2>&1 && _have_libclang || want+=(clang libclang-dev)
	# A tree's own mm/vma.c (the kernel-vma variant) links liburcu, as its
	# tools/testing/vma does.
	_have_liburcu || want+=(liburcu-dev)
	[ ${#want[@]} -gt 0 ] || return 0
	echo "rmapfuzz: installing ${want[*]} (bindgen needs libclang; a tree's own mm/vma.c, liburcu)" >&2
	_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${want[@]}" >/dev/null
}

_have_liburcu() {
	ls /usr/lib/*/liburcu.so >/dev/null 2>&1
}

ensure_cargo() {
	if ! command -v cargo >/dev/null 2>&1; then
		echo "rmapfuzz: cargo not found; install Rust (https://rustup.rs) first" >&2
		return 1
	fi
}

# The major version of the LLVM a toolchain's rustc is built on.
rustc_llvm_major() {
	rustc "$@" -vV 2>/dev/null | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'
}

ensure_nightly() {
	if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
		echo "rmapfuzz: installing the nightly toolchain (cargo fuzz needs it)" >&2
		rustup toolchain install nightly --profile minimal
	fi
}

ensure_cargo_tool() { # ensure_cargo_tool BINARY CRATE
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "rmapfuzz: installing $2" >&2
		cargo install --locked "$2" || cargo install "$2"
	fi
}

# clang and llvm tools whose LLVM matches the nightly rustc's, when Debian
# has them (the C side and the Rust side then share one instrumentation
# and profile format); falls back to the default clang.
ensure_matching_llvm() {
	ensure_c_toolchain
	local major
	major=$(rustc_llvm_major +nightly 2>/dev/null)
	[ -n "$major" ] || major=$(rustc_llvm_major)
	if [ -n "$major" ] && ! command -v "clang-$major" >/dev/null 2>&1; then
		if apt-cache show "clang-$major" >/dev/null 2>&1; then
			echo "rmapfuzz: installing clang-$major and llvm-$major (matching rustc's LLVM)" >&2
			_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "clang-$major" "llvm-$major" >/dev/null
		fi
	fi
	if [ -n "$major" ] && command -v "clang-$major" >/dev/null 2>&1; then
		LLVM_SUFFIX="-$major"
	else
		LLVM_SUFFIX=""
	fi
	export RMAPFUZZ_CLANG="clang$LLVM_SUFFIX"
	if command -v "llvm-symbolizer$LLVM_SUFFIX" >/dev/null 2>&1; then
		ASAN_SYMBOLIZER_PATH=$(command -v "llvm-symbolizer$LLVM_SUFFIX")
		export ASAN_SYMBOLIZER_PATH
	fi
}

# Seeds for a fuzz target from the text corpus (fuzz corpora are disposable).
# The rmapfuzz CLI from this checkout, built without kernel trees (the
# trees a script was given reach build.rs through RMAPFUZZ_KERNEL_SRC and
# RMAPFUZZ_REFERENCE_SRC for the fuzz builds only; the CLI builds its own
# per-tree binary when passed --kernel-src, and a binary built with a tree
# refuses to run without it).
rmapfuzz_plain() {
	env -u RMAPFUZZ_KERNEL_SRC -u RMAPFUZZ_REFERENCE_SRC cargo run --release --quiet -- "$@"
}

seed_corpus() { # seed_corpus TARGET DIR
	mkdir -p "$2"
	if [ "$1" = parse ]; then
		cp corpus/*.txt "$2"/
	else
		rmapfuzz_plain encode corpus -o "$2" >/dev/null
	fi
}

# AddressSanitizer's settings for the fuzz binaries (the C side alone is
# under ASan, see scripts/lib/cargo-fuzz), before the user's own
# ASAN_OPTIONS, which win. A run's world is small: 16 MB of quarantine
# still holds every object freed over the last many inputs, where the
# default 256 MB only adds page faults; eight frames of a malloc's stack
# name the C function that made an object; `detect_odr_violation=0` as
# cargo-fuzz sets it.
fuzz_asan_options() {
	local ours=detect_odr_violation=0:quarantine_size_mb=16:malloc_context_size=8
	echo "$ours${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
}

# gnuplot, for scripts/soak's plot.
ensure_gnuplot() {
	command -v gnuplot >/dev/null 2>&1 && return 0
	echo "rmapfuzz: installing gnuplot-nox (scripts/soak draws its plot with it)" >&2
	_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null
}
