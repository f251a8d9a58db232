// Builds src/ into one ES module, ../lr_plugin/static/index.js, with uPlot and
// all CSS inside it (TensorBoard's CSP allows only same-origin scripts).
//
//   npm run build          write the bundle
//   npm run check          exit 1 if the committed bundle differs from a fresh build

import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
// LRT_OUTFILE: another path, for experiments (bench/paint.py); the committed bundle is the default.
const outfile = resolve(here, process.env.LRT_OUTFILE || "../lr_plugin/static/index.js");
const check = process.argv.includes("--check");

// Inlined CSS is text to esbuild: minify it first.
const minifiedCss = {
  name: "minified-css-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const { code } = await esbuild.transform(source, { loader: "css", minify: true });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

// uPlot's MIT license asks for its notice in every copy.
const uplotLicense = (await readFile(resolve(here, "node_modules/uplot/LICENSE"), "utf8")).trim();

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/index.js"],
  bundle: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: !process.env.LRT_DEBUG,
  legalComments: "eof",
  charset: "utf8",
  plugins: [minifiedCss],
  banner: {
    // V8's explicit compile hint (it must open the file): compile every function eagerly
    // while the module loads, before the data arrives, instead of lazily inside the first
    // draw (https://v8.dev/blog/explicit-compile-hints).
    js: "//# allFunctionsCalledOnLoad\n" +
      "// LR Timeline TensorBoard plugin. Generated from frontend/src by `npm run build`; do not edit.",
  },
  footer: {
    js: `/*! uPlot (https://github.com/leeoniya/uPlot), bundled above:\n${uplotLicense.replace(/\*\//g, "* /")}\n*/`,
  },
  write: false,
  logLevel: "warning",
});

const bundle = result.outputFiles[0].contents;

if (check) {
  let committed = null;
  try {
    committed = await readFile(outfile);
  } catch (error) {
    console.error(`missing ${outfile}: run npm run build`);
    process.exit(1);
  }
  if (!Buffer.from(bundle).equals(committed)) {
    console.error(`${outfile} differs from a fresh build: run npm run build and commit it`);
    process.exit(1);
  }
  console.log(`${outfile} is up to date (${bundle.length} bytes)`);
} else {
  await mkdir(dirname(outfile), { recursive: true });
  await writeFile(outfile, bundle);
  console.log(`wrote ${outfile} (${bundle.length} bytes)`);
}
