// Y.XmlText toString/toJSON vectors: hand-written updates (formatting items
// around the text as Yjs itself produces them) applied to a fresh peer that
// declared its roots; prints the update and the fragment's toJSON.
// usage: node gen_xmltext.mjs N > ../data/values_xmltext_N.txt  (needs yjs: tests/interop/node_modules)
import * as Y from 'yjs'
const bold = '04626f6c64', italic = '066974616c6963', T = '0474727565', N = '046e756c6c'
const vectors = {
  // insert(0,'ab',{bold:true,italic:true}); insert(2,'c'): two formats start at
  // the same position -> "<bold><italic>abc</italic></bold>"
  1: '01070c00070101780606000c00' + bold + T + '860c01' + italic + T + '840c02026162860c04' + bold + N +
     '860c05' + italic + N + 'c40c040c05016300',
  // bold, "a", italic=null (changes nothing), "b", bold=null: the no-op format
  // still splits the delta -> "<bold>a</bold><bold>b</bold>"
  2: '01060c000701017806' + '06000c00' + bold + T + '840c010161' + '860c02' + italic + N + '840c030162' +
     '860c04' + bold + N + '00'
}
const hex = vectors[process.argv[2]]
const R = new Y.Doc(); R.clientID = 7
const rx = R.getXmlFragment('x'); R.getText('t'); R.getArray('a'); R.getMap('m'); R.getMap('b')
Y.applyUpdate(R, Buffer.from(hex, 'hex'))
console.log(['# values', 'U ' + hex, 'J x ' + JSON.stringify(rx.toJSON()),
  'S ' + Buffer.from(Y.encodeStateAsUpdate(R)).toString('hex')].join('\n'))
