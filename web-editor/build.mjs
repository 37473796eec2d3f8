// Bundle the editor into dist/: index.html plus content-hashed assets/.
//
//   node build.mjs           production build (minified, with source maps)
//   node build.mjs --watch   rebuild on change (unminified)
//
// index.html's %CSP% becomes the policy in csp.txt, the file the server's
// Content-Security-Policy header is built from too.
import * as esbuild from 'esbuild'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, 'dist')
const watch = process.argv.includes('--watch')

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
  outdir: 'dist/assets',
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

await fs.rm(dist, { recursive: true, force: true })
await fs.mkdir(dist, { recursive: true })
if (watch) {
  const ctx = await esbuild.context(options)
  await ctx.watch()
} else {
  const result = await esbuild.build(options)
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([f]) => !f.endsWith('.map') && !f.endsWith('.txt'))
    .map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(1)} KiB`)
  console.log(`build: dist/index.html + ${sizes.join(', ')}`)
}
