// Bundle the editor into dist/: index.html plus content-hashed assets/.
//
//   node build.mjs               production build (minified, with source maps)
//   node build.mjs --watch       rebuild on change (unminified)
//   node build.mjs --outdir DIR  build into DIR instead of dist/ (DIR must be
//                                missing or empty; scripts/test-browser.sh
//                                builds into a temporary one)
//
// index.html's %CSP% becomes the policy in csp.txt, the file the server's
// Content-Security-Policy header is built from too.
import * as esbuild from 'esbuild'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const watch = process.argv.includes('--watch')
const outArg = process.argv.indexOf('--outdir')
if (outArg >= 0 && !process.argv[outArg + 1]) throw new Error('build: --outdir needs a directory')
const dist = outArg >= 0 ? path.resolve(process.argv[outArg + 1]) : path.join(here, 'dist')

/** csp.txt: one directive a line, # comments; CMakeLists.txt applies the same rules. */
async function readCsp () {
  const file = path.join(here, 'csp.txt')
  const directives = (await fs.readFile(file, 'utf8')).split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  for (const d of directives) {
    if (!/^[a-z][a-z0-9-]*( [ -~]+)?$/.test(d) || /[;"\\<>&]/.test(d)) {
      throw new Error(`build: ${file}: not a directive: ${JSON.stringify(d)}`)
    }
    if (d.split(' ')[0] === 'frame-ancestors') {
      throw new Error(`build: ${file}: frame-ancestors is quire's --frame-ancestors, not part of the page's policy`)
    }
  }
  if (!directives.length) throw new Error(`build: ${file}: no directives`)
  return directives.join('; ')
}
const csp = await readCsp()

async function writeIndex (metafile) {
  const outs = Object.entries(metafile.outputs)
  const find = (entry) => {
    const hit = outs.find(([, o]) => o.entryPoint === entry)
    if (!hit) throw new Error(`build: no output for ${entry}`)
    return path.relative(dist, path.join(here, hit[0])).split(path.sep).join('/')
  }
  const html = (await fs.readFile(path.join(here, 'index.html'), 'utf8'))
    .replace('%SCRIPT%', find('src/main.js'))
    .replace('%STYLE%', find('src/style.css'))
    .replace('%CSP%', csp)
  await fs.writeFile(path.join(dist, 'index.html'), html)
}

const options = {
  absWorkingDir: here,
  entryPoints: ['src/main.js', 'src/style.css'],
  bundle: true,
  format: 'esm',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  minify: !watch,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'info',
  plugins: [{
    name: 'index-html',
    setup (build) {
      build.onEnd(async (result) => {
        if (result.errors.length === 0 && result.metafile) await writeIndex(result.metafile)
      })
    }
  }]
}

if (outArg >= 0) {
  // never delete a directory given on the command line: a typo must not cost files
  const left = await fs.readdir(dist).catch((e) => { if (e.code === 'ENOENT') return []; throw e })
  if (left.length) throw new Error(`build: --outdir ${dist} is not empty`)
} else {
  await fs.rm(dist, { recursive: true, force: true })
}
await fs.mkdir(dist, { recursive: true })
if (watch) {
  const ctx = await esbuild.context(options)
  await ctx.watch()
} else {
  const result = await esbuild.build(options)
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([f]) => !f.endsWith('.map') && !f.endsWith('.txt'))
    .map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(1)} KiB`)
  const shown = path.relative(process.cwd(), dist)
  console.log(`build: ${shown.startsWith('..') ? dist : shown || '.'}/index.html + ${sizes.join(', ')}`)
}
