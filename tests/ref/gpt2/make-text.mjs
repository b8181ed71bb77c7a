// Writes tests/ref/gpt2/text.txt: a varied, deterministic test text (>= 100 KB) for the
// tokenizer oracle. No network, no randomness but a seeded PRNG, so the same script gives
// the same bytes everywhere. Also exports makeText(seed, minBytes) for live.mjs.
//
// Letters, digits and spaces here all date from Unicode 6.0 or before (emoji and symbols
// are "other" in every version), so \p{L}/\p{N}/White_Space agree between glassbox's
// Unicode 15.0 tables, Node's ICU tables and tiktoken's Rust regex tables.
//
// Usage: node make-text.mjs [OUT]   (default: text.txt beside this script)
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";

// mulberry32: tiny, well-mixed, deterministic.
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (arr) => arr[Math.floor(next() * arr.length)];
  return next;
}

const PROSE = {
  en: `The quick brown fox jumps over the lazy dog. It's not what you'd expect, and they're sure we've seen it before. I'm told she'll arrive at 10:45 a.m. on Tuesday, but he'd rather wait. "Don't panic," said the guide; the ship's crew didn't listen. Shakespeare's plays weren't written for readers who'll never see a stage. CAN'T STOP, WON'T STOP, SHE'S GONE, WE'LL SEE, THEY'RE HERE, I'VE DONE IT. Rock 'n' roll — the 'quoted' word, the \u2018curly\u2019 one, and the \u201Cdouble\u201D kind. Mr. O'Neil's dog's bone was the dogs' favourite.`,
  es: `El veloz murciélago hindú comía feliz cardillo y kiwi. La cigüeña tocaba el saxofón detrás del palenque de paja. ¿Dónde está la biblioteca? ¡Qué día tan bonito! Mañana, el niño pequeño irá a la escuela con su señora madre. En 1492, Cristóbal Colón llegó a América; hoy, 12 de octubre, se recuerda.`,
  fr: `Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis. L'été dernier, j'ai vu l'œuvre d'art à Paris. Ça m'a plu ! « Où est-il ? » demanda-t-elle. Les élèves français étudient l'histoire, la géographie et les mathématiques ; c'est très important.`,
  de: `Falsches Üben von Xylophonmusik quält jeden größeren Zwerg. Die Straße heißt Königsallee, und das Bußgeld beträgt 35 Euro. Größenwahnsinnige Fußgänger überqueren die Brücke über die Spree. „Wie geht's?", fragte er. Donaudampfschifffahrtsgesellschaftskapitän ist ein langes Wort.`,
  ru: `Съешь же ещё этих мягких французских булок, да выпей чаю. В чащах юга жил бы цитрус? Да, но фальшивый экземпляр! Москва — столица России; население составляет около 13 миллионов человек. «Война и мир» — роман Льва Толстого, написанный в 1863–1869 годах.`,
  el: `Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο. Ο Σωκράτης έλεγε: «ἓν οἶδα ὅτι οὐδὲν οἶδα». Τα μαθηματικά (π ≈ 3,14159) είναι ωραία; Ναι!`,
  ar: `نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق. اللغة العربية جميلة جداً، وهي لغة القرآن الكريم. كم عمرك؟ عمري ٢٥ سنة. ذهبتُ إلى المدرسةِ صباحاً.`,
  he: `דג סקרן שט בים מאוכזב ולפתע מצא חברה. עברית היא שפה שמית; נכתבת מימין לשמאל. שָׁלוֹם עֲלֵיכֶם! מה שלומך היום? ירושלים היא עיר עתיקה מאוד.`,
  hi: `ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम। नमस्ते, आप कैसे हैं? भारत की राजधानी नई दिल्ली है। मेरा नाम राम है और मैं १२ वर्ष का हूँ।`,
  zh: `我能吞下玻璃而不伤身体。天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。北京是中华人民共和国的首都，人口约两千万。今天天气很好，我们去公园散步吧！《红楼梦》是中国古典四大名著之一。`,
  ja: `いろはにほへと　ちりぬるを　わかよたれそ　つねならむ。私はガラスを食べられます。それは私を傷つけません。東京は日本の首都です。カタカナとひらがな、そして漢字を使います。「こんにちは」と彼女は言った。`,
  ko: `키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다. 다람쥐 헌 쳇바퀴에 타고파. 서울은 대한민국의 수도입니다. 안녕하세요? 저는 학생입니다. 한글은 1443년에 창제되었습니다.`,
  th: `เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน จงฝ่าฟันพัฒนาวิชาการ อย่าล้างผลาญฤๅเข่นฆ่าบีฑาใคร ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ กรุงเทพมหานครเป็นเมืองหลวง`,
  tr: `Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul'un nüfusu 15 milyonu aşıyor; ığdır, şırnak, çorum.`,
  vi: `Tiếng Việt có dấu: Tôi có thể ăn thủy tinh mà không hại gì. Hà Nội là thủ đô của Việt Nam.`,
  pl: `Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig. Kraków, Łódź, Gdańsk.`,
  uk: `Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів! Київ — столиця України.`,
  hy_ka: `Հայերեն գրականություն։ ქართული ენა ძალიან ლამაზია. Ελληνικά και Русский вместе.`,
};

const CODE = [
  `#include <stdio.h>\n#include <stdlib.h>\n\n/* Sum of the first n squares. */\nstatic long long sumsq(int n) {\n\tlong long s = 0;\n\tfor (int i = 1; i <= n; i++) s += (long long)i * i;\n\treturn s;\n}\n\nint main(int argc, char **argv) {\n    int n = argc > 1 ? atoi(argv[1]) : 10;\n    printf("sumsq(%d) = %lld\\n", n, sumsq(n));\n    if (n < 0 && n != -1) { fprintf(stderr, "error: n=%d\\n", n); return 1; }\n    return 0;\n}\n`,
  `def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\nif __name__ == "__main__":\n    print([fib(i) for i in range(20)])  # [0, 1, 1, 2, 3, 5, 8, ...]\n    d = {'key': "value", 'n': 3.14e-10, "ok": True, "none": None}\n    x = d.get('key') or ''\n`,
  `{\n  "name": "glassbox",\n  "version": "0.1.0",\n  "tags": ["c", "llm", "bpe"],\n  "config": {"n_layer": 12, "n_head": 12, "n_embd": 768, "dropout": 0.0, "bias": true},\n  "unicode": "caf\\u00e9 \\ud83d\\ude00",\n  "nested": [[1, 2], [3, [4, [5]]], {}],\n  "empty": "", "nullish": null\n}\n`,
  `const f = (x) => x?.y ?? [];\nlet s = \`template \${a + b}\`;\nif (a !== b && c <= d || e >= f) { g += 1; h -= 2; i *= 3; j /= 4; k %= 5; }\n// TODO: fix this!!!\nconsole.log("done");;;\n`,
  `SELECT id, name, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id WHERE u.created_at >= '2023-01-01' GROUP BY 1, 2 HAVING n > 10 ORDER BY n DESC LIMIT 100;\n`,
  `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Test &amp; &lt;page&gt;</title></head>\n<body><p class='x'>Hello,&nbsp;world!</p><br/></body></html>\n`,
  `$ ls -la /usr/share/unicode | grep -E '^-rw' | awk '{print $5, $9}' > /tmp/out.txt 2>&1 && echo "ok: $?"\n`,
];

const EMOJI = [
  "😀", "😂", "🤣", "❤️", "👍", "👍🏻", "👍🏽", "👍🏿", "👋🏼", "🙏🏾", "🎉", "🔥", "✨", "🚀", "🐍", "🦀",
  "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏽‍🚀", "👨🏻‍⚕️", "🏳️‍🌈", "🏴‍☠️", "❤️‍🔥", "🇺🇸", "🇯🇵", "🇩🇪", "🇧🇷", "🇪🇸",
  "1️⃣", "#️⃣", "©️", "™", "☕", "⚽", "🌍", "🌏", "💯", "🤔", "😭", "🥺",
];
const SYMBOLS = [
  "∀x∈ℝ: x²≥0", "∑ᵢ₌₁ⁿ i = n(n+1)/2", "∫₀^∞ e^{−x} dx = 1", "√2 ≈ 1.41421356", "α+β=γ", "A ⊆ B ∪ C",
  "¬(p ∧ q) ⇔ (¬p ∨ ¬q)", "f: ℕ → ℤ", "∂f/∂x", "½ + ¼ = ¾", "10⁻³", "x₁, x₂, …, xₙ", "€100", "£50",
  "¥1000", "$3.50", "₹500", "°C", "±5%", "™", "®", "§12", "¶", "†‡", "←↑→↓", "■□▲△●○", "★☆",
  "「引用」", "『書名』", "【注意】", "〈括弧〉", "、。！？", "（全角）", "；：", "…", "——", "·•",
];
const MARKS = [
  "e\u0301", "a\u0300", "n\u0303", "o\u0308", "c\u0327", "u\u030A", "Z\u0335\u0336", "x\u0332\u0332",
  "q\u0307\u0323", "ā\u0301", "\u0301", "Ǆ", "ǅ", "ǆ", "ﬁ", "ﬀ", "Å", "Ω", "K", "ſ", "ß", "ẞ", "İ", "ı",
];
const WS_ATOMS = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ",
  "\u00A0", "\u3000", "\u0085", "\u2028", "\u2029", "\uFEFF", "\u2003", "\u200A", "\u202F", "\u205F",
  "\u1680", "\v", "\f", "\u200B", "\u200D", "\u00AD"];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE",
  "'Ve", "'M", "'LL", "'Ll", "'lL", "'D", "'ſ", "'x", "'", "''", "'''", "’s"];
const WORDS = ["it", "I", "you", "she", "we", "they", "John", "DON", "can", "won", "rock", "x", "é", "Ωmega",
  "日本", "12", "2024", "", " ", "_", "a1", "ℕ"];

function number(r) {
  const k = r.int(8);
  const digits = (n) => { let s = String(1 + r.int(9)); while (s.length < n) s += r.int(10); return s; };
  if (k === 0) return digits(1 + r.int(25));
  if (k === 1) return `${digits(1 + r.int(6))}.${digits(1 + r.int(8))}`;
  if (k === 2) return `${2000 + r.int(30)}-${String(1 + r.int(12)).padStart(2, "0")}-${String(1 + r.int(28)).padStart(2, "0")}`;
  if (k === 3) return `${1 + r.int(12)}/${1 + r.int(31)}/${1900 + r.int(130)}`;
  if (k === 4) return `+1 (${digits(3)}) ${digits(3)}-${digits(4)}`;
  if (k === 5) return `${r.int(100)},${String(r.int(1000)).padStart(3, "0")},${String(r.int(1000)).padStart(3, "0")}`;
  if (k === 6) return r.pick(["٣٤٥", "१२३४", "١٢٣٤٥٦", "Ⅻ", "ⅷ", "½", "²³", "①②③", "๑๒๓", "〇一二三", "0x7FFF_FFFF", "1e-9", "-42", "3.14159265358979323846"]);
  return `${digits(1 + r.int(3))}:${String(r.int(60)).padStart(2, "0")}:${String(r.int(60)).padStart(2, "0")}`;
}

function sentences(text) { return text.match(/[^.!?。！？]+[.!?。！？]*\s*/gu) || [text]; }

// One block of text of a randomly chosen kind.
function block(r) {
  const k = r.int(10);
  if (k <= 2) {  // prose: a language's sentences shuffled, sometimes mixed with another
    const langs = Object.keys(PROSE);
    const s = sentences(PROSE[r.pick(langs)]);
    if (r() < 0.3) s.push(...sentences(PROSE[r.pick(langs)]).slice(0, 2));
    for (let i = s.length - 1; i > 0; i--) { const j = r.int(i + 1); [s[i], s[j]] = [s[j], s[i]]; }
    return s.join(r() < 0.8 ? " " : r.pick(WS_ATOMS)).replace(/\s+$/u, "") + r.pick(["\n\n", "\n", " ", "\r\n", "\n\n\n"]);
  }
  if (k === 3) return r.pick(CODE) + (r() < 0.5 ? "\n" : "");
  if (k === 4) {  // numbers of all lengths, dates, times
    const a = []; const n = 5 + r.int(15);
    for (let i = 0; i < n; i++) a.push(number(r));
    return a.join(r.pick([" ", ", ", "; ", "\n", "\t", " | "])) + "\n";
  }
  if (k === 5) {  // whitespace runs between words
    const a = [];
    for (let i = 0; i < 12; i++) {
      a.push(r.pick(WORDS.concat(["word", "Hello", "x", "42", "!", "?!", "—", "😀"])));
      let w = ""; const m = 1 + r.int(4);
      for (let j = 0; j < m; j++) w += r.pick(WS_ATOMS);
      a.push(w);
    }
    return a.join("") + "\n";
  }
  if (k === 6) {  // contractions in every case and context
    const a = [];
    for (let i = 0; i < 15; i++) a.push(r.pick(WORDS) + r.pick(CONTRACTIONS) + r.pick(["", "", "x", "s", "re", " ", "!", "\n", "ll", "ſt"]));
    return a.join(r.pick([" ", "  ", "\n", ""])) + "\n";
  }
  if (k === 7) {  // emoji, symbols, combining marks, CJK punctuation
    const a = [];
    for (let i = 0; i < 20; i++) a.push(r.pick(r() < 0.4 ? EMOJI : r() < 0.6 ? SYMBOLS : MARKS));
    return a.join(r.pick(["", " ", "  ", "\n"])) + "\n";
  }
  if (k === 8) {  // random soup of single characters from every class
    const pool = [..."aZ09 \t\n\r'!?.,;:-_()[]{}<>/\\\"'`~@#$%^&*+=|"].concat(EMOJI, MARKS, WS_ATOMS, ["é", "ß", "Ж", "λ", "ש", "ع", "क", "ि", "्", "中", "あ", "ア", "한", "ก", "ั", "٣", "१", "½", "²", "Ⅻ", "€", "©", "\u0301", "\u200D"]);
    let s = ""; const n = 40 + r.int(120);
    for (let i = 0; i < n; i++) s += r.pick(pool);
    return s + "\n";
  }
  // special-token text and markup lookalikes (encoded as ordinary text by the oracle)
  return r.pick(["<|endoftext|>", "Hello<|endoftext|>World", " <|endoftext|> ", "<|endoftext|>\n\n",
    "<|endof", "text|>", "<|fim_prefix|>", "<|im_start|>user\n", "<|endoftext|><|endoftext|>"]) + r.pick(["", "\n", " "]);
}

// Text of at least minBytes UTF-8 bytes from `seed`; the same arguments give the same text.
export function makeText(seed, minBytes) {
  const r = rng(seed);
  const parts = [];
  let bytes = 0;
  // Every prose sample and code snippet at least once, then random blocks.
  for (const t of [...Object.values(PROSE), ...CODE]) { parts.push(t + "\n\n"); bytes += Buffer.byteLength(t) + 2; }
  while (bytes < minBytes) { const b = block(r); parts.push(b); bytes += Buffer.byteLength(b); }
  // End on trailing whitespace with newlines: the end-of-text rules get tested too.
  parts.push("The end.  \n\n \t ");
  return parts.join("");
}

// Random blocks only (no fixed preamble): the fresh samples of live.mjs.
export function makeSample(seed, minBytes) {
  const r = rng(seed);
  let s = "";
  while (Buffer.byteLength(s) < minBytes) s += block(r);
  return s;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] || path.join(path.dirname(fileURLToPath(import.meta.url)), "text.txt");
  const text = makeText(20240601, 120 * 1024);
  fs.writeFileSync(out, text);
  console.log(`make-text: wrote ${out} (${Buffer.byteLength(text)} bytes)`);
}
