// Two helpers the staff page's scripts and the transparency page share: an element from its properties, and fen as yuan.
"use strict";

// An element with its properties (dataset merged, not replaced) and children.
function node(tag, { dataset = {}, ...props } = {}, ...children) {
  const made = Object.assign(document.createElement(tag), props);
  Object.assign(made.dataset, dataset);
  made.append(...children);
  return made;
}

// Whole fen as yuan with two decimals, exactly: integer arithmetic, no float rounding (amounts stay far below 2^53).
function yuan(fen) {
  const whole = Math.floor(Math.abs(fen) / 100);
  const cents = String(Math.abs(fen) % 100).padStart(2, "0");
  return `${fen < 0 ? "-" : ""}¥${whole.toLocaleString("en-US")}.${cents}`;
}
