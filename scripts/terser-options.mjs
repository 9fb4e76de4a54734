// Terser options of what we ship minified (the IIFE) and of the size budget (scripts/size.mjs):
// one object, so the budget measures the minifier the build uses. Three compress passes shave
// ~10 bytes min+gzip over one; ecma 2022 keeps class fields and `??=` as written.
// `unsafe` (String(x) -> x+"", template -> concatenation) and `unsafe_methods` (arrow and function
// properties -> concise methods, only where no `this`/`arguments` is used and nothing calls them
// with `new`) hold for this code base: core -19 B min+gzip, IIFE -4. Not `unsafe_comps`: it
// rewrites `!(a >= x && a <= y)` in ways that change the result for NaN (close(NaN) must throw).
export const TERSER = {
  ecma: 2022,
  compress: { passes: 3, unsafe: true, unsafe_methods: true },
  format: { comments: false },
};
