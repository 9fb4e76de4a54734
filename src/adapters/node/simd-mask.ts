/**
 * RFC 6455 §5.3 masking with WebAssembly SIMD: 64 bytes per loop iteration as four 128-bit XORs.
 * JavaScript has no vector instructions (the BigUint64Array loop of src/protocol/mask.ts does 8 bytes
 * per step) and a native addon is what we promise not to need; WebAssembly is part of every runtime
 * we support (Node, Deno, Bun). The catch is that WebAssembly code only sees its own memory, so the
 * large outgoing frames live in that memory (frame-arena.ts): the payload is copied in at memcpy
 * speed and XORed in place, and the socket writes straight from there.
 *
 * The module, in the text format (hand-assembled below, 154 bytes):
 *
 *   (module
 *     (import "m" "m" (memory 1))
 *     (func (export "x") (param $p i32) (param $n i32) (param $k i32)
 *       (local $end i32) (local $kv v128)
 *       (local.set $kv (i32x4.splat (local.get $k)))            ;; the key 4 times
 *       (local.set $end (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -64))))
 *       (block $done
 *         (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
 *         (loop $next
 *           (v128.store offset=0  (local.get $p) (v128.xor (v128.load offset=0  (local.get $p)) (local.get $kv)))
 *           (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $kv)))
 *           (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $kv)))
 *           (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $kv)))
 *           (br_if $next (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 64))) (local.get $end))))))
 *
 * x(p, n, k) masks the whole 64-byte blocks of [p, p + n); the caller masks the last n % 64 bytes.
 * WebAssembly memory is little-endian on every host, so the key word k = k0 | k1 << 8 | k2 << 16 |
 * k3 << 24 puts key byte i & 3 on byte i of every block that starts 4-byte aligned.
 */

/** XOR the 64-byte blocks of memory[address, address + (length & ~63)) with the key word. */
export type SimdMask = (address: number, length: number, keyWord: number) => void;

/** One 16-byte v128 load or store at `offset` (align 2^4). */
function xorLane(offset: number): number[] {
  return [
    0x20, 0x00, // local.get $p (the store's address)
    0x20, 0x00, 0xfd, 0x00, 0x04, offset, // local.get $p; v128.load align=16 offset
    0x20, 0x04, 0xfd, 0x51, // local.get $kv; v128.xor
    0xfd, 0x0b, 0x04, offset, // v128.store align=16 offset
  ];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const body = [
    0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: 1 x i32 ($end), 1 x v128 ($kv)
    0x20, 0x02, 0xfd, 0x11, 0x21, 0x04, // kv = i32x4.splat(k)
    0x20, 0x00, 0x20, 0x01, 0x41, 0x40, 0x71, 0x6a, 0x21, 0x03, // end = p + (n & -64)
    0x02, 0x40, // block
    0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x00, // br_if (p >= end) to the block's end
    0x03, 0x40, // loop
    ...xorLane(0x00),
    ...xorLane(0x10),
    ...xorLane(0x20),
    ...xorLane(0x30),
    0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x22, 0x00, // p = p + 64 (tee)
    0x20, 0x03, 0x49, 0x0d, 0x00, // br_if (p < end) to the loop's start
    0x0b, 0x0b, 0x0b, // end loop, end block, end function
  ];
  const section = (id: number, content: number[]): number[] => [id, content.length, ...content];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]), // type 0: (i32, i32, i32) -> ()
    ...section(2, [0x01, 0x01, 0x6d, 0x01, 0x6d, 0x02, 0x00, 0x01]), // import "m" "m": memory, min 1 page
    ...section(3, [0x01, 0x00]), // function 0 has type 0
    ...section(7, [0x01, 0x01, 0x78, 0x00, 0x00]), // export "x" = function 0
    ...section(10, [0x01, body.length, ...body]), // its code
  ]);
}

/**
 * The SIMD mask over `memory`, or undefined where WebAssembly or its SIMD instructions are missing
 * (e.g. `node --jitless`): the caller then masks with the portable JavaScript loop.
 */
export function createSimdMask(memory: WebAssembly.Memory): SimdMask | undefined {
  try {
    const bytes = moduleBytes();
    if (!WebAssembly.validate(bytes)) return undefined;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { m: memory } });
    return instance.exports["x"] as SimdMask;
  } catch {
    return undefined;
  }
}
