/**
 * The lottery wheel's geometry. Prizes sit clockwise from the top, each in a sector of
 * 360/n degrees; the pointer is fixed at the top and the wheel turns clockwise. The server
 * draws the prize; the wheel only shows it, so the spin must stop with that prize's sector
 * under the pointer.
 */
const settings = {
  spinMs: 4000, // how long the wheel turns (the CSS transition in pages/lottery uses the same)
  turns: 6, // whole turns before it settles
};

const COLOURS = ['#fff4e0', '#ffe0b2', '#ffd180']; // a third for an odd count's last sector

/** The wheel's rotation (degrees, growing) that ends with prize `index` under the pointer. */
function landingRotation(current, index, count) {
  const sector = 360 / count;
  const centre = index * sector + sector / 2;
  const target = (360 - centre) % 360;
  const start = current - (((current % 360) + 360) % 360); // back to a whole turn
  return start + settings.turns * 360 + target;
}

/** Which prize a rotation leaves under the pointer. */
function prizeUnderPointer(rotation, count) {
  const sector = 360 / count;
  const angle = (((360 - rotation) % 360) + 360) % 360;
  return Math.floor(angle / sector) % count;
}

/** The sectors' background: a conic gradient of alternating colours. */
function background(count) {
  const sector = 360 / count;
  const stops = [];
  for (let i = 0; i < count; i += 1) {
    const colour = count > 1 && count % 2 === 1 && i === count - 1 ? COLOURS[2] : COLOURS[i % 2];
    stops.push(`${colour} ${i * sector}deg ${(i + 1) * sector}deg`);
  }
  return `background: conic-gradient(${stops.join(', ')});`;
}

/** The angle each label is turned to, so that it reads outward along its sector's middle. */
function labelAngle(index, count) {
  const sector = 360 / count;
  return index * sector + sector / 2;
}

module.exports = { settings, landingRotation, prizeUnderPointer, background, labelAngle };
