// Terser options of what we ship minified (the IIFE) and of the size budget (scripts/size.mjs):
// one object, so the budget measures the minifier the build uses. Three compress passes shave
// ~10 bytes min+gzip over one; ecma 2022 keeps class fields and `??=` as written.
export const TERSER = { ecma: 2022, compress: { passes: 3 }, format: { comments: false } };
