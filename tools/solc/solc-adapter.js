#!/usr/bin/env node
// A native-solc look-alike over solc-js, for machines that cannot download solc.
//
// py-solc-x and brownie find it as $SOLCX_BINARY_PATH/solc-v<version>. It answers the two
// things they ask of a native binary:
//   solc --version                 -> "Version: 0.8.x+commit.<hash>.<platform>"
//   solc --standard-json [opts]    -> standard JSON in on stdin, standard JSON out on stdout
// Imports that are not in the input JSON are read from the file system, looked up like
// native solc does: the path itself, then under --base-path and each --include-path.
//
// Never call process.exit() after writing stdout: on a pipe the write is asynchronous and
// exiting early truncates large JSON outputs. We set process.exitCode instead.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
      return argv[++i];
    };
    if (a === "--version") opts.version = true;
    else if (a === "--standard-json") opts.standardJson = true;
    else if (a === "--base-path") opts.basePath = value();
    else if (a === "--include-path") opts.includePaths.push(value());
    else if (a === "--allow-paths") opts.allowPaths.push(...value().split(","));
    else if (a.startsWith("--base-path=")) opts.basePath = a.slice(12);
    else if (a.startsWith("--include-path=")) opts.includePaths.push(a.slice(15));
    else if (a.startsWith("--allow-paths=")) opts.allowPaths.push(...a.slice(14).split(","));
    else if (a === "-") continue;
    else throw new Error(`unsupported option ${a} (this adapter supports --version and --standard-json)`);
  }
  return opts;
}

function importReader(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd()].filter(Boolean);
  return (unitName) => {
    const candidates = path.isAbsolute(unitName) ? [unitName] : roots.map((r) => path.resolve(r, unitName));
    for (const file of candidates) {
      try {
        return { contents: fs.readFileSync(file, "utf8") };
      } catch (err) {
        if (err.code !== "ENOENT" && err.code !== "EISDIR") return { error: `${file}: ${err.message}` };
      }
    }
    return { error: `File not found: ${unitName} (looked in ${candidates.join(", ")})` };
  };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`Error: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  if (opts.version) {
    const platform = process.platform === "linux" ? "Linux" : process.platform;
    // Native: "Version: 0.8.28+commit.7893614a.Linux.g++"; solc-js says ".Emscripten.clang".
    const v = solc.version().replace(/\.Emscripten\.clang$/, `.${platform}.solcjs`);
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${v}\n`);
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write("Error: only --version and --standard-json are supported by this adapter\n");
    process.exitCode = 1;
    return;
  }
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    const input = Buffer.concat(chunks).toString("utf8");
    const output = solc.compile(input, { import: importReader(opts) });
    process.stdout.write(output);
  });
}

main();
