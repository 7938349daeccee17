// QR codes drawn in the browser: a sheet of hundreds of codes is one small JSON list of URLs,
// and the drawing costs the page well under a second instead of holding an API worker for
// seconds (segno, pure Python, takes 4–13 ms a code with its mask evaluation; uqr a quarter).
import { encode } from "uqr";

/** The QR code of `text` (error correction M, as the PNG route draws it) as `size` modules
 * square, no quiet zone, and one SVG path of its dark modules: a horizontal line of stroke
 * width 1 through the middle of each run of dark modules on a row. */
export function qrDrawing(text) {
  const { size, data } = encode(text, { ecc: "M", border: 0 });
  const runs = [];
  data.forEach((row, y) => {
    for (let x = 0; x < size; ) {
      if (!row[x]) {
        x += 1;
        continue;
      }
      const start = x;
      while (x < size && row[x]) x += 1;
      runs.push(`M${start} ${y + 0.5}h${x - start}`);
    }
  });
  return { size, path: runs.join("") };
}
