"""`milktrace qr`: GS1 Digital Link QR labels (PNG, SVG) and a printable label sheet."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from milktrace import qr
from milktrace.errors import InvalidIdentifier
from milktrace.paths import project_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "qr", help="QR labels (PNG, SVG, printable sheet) holding GS1 Digital Link URIs",
        description="Writes {GTIN}_{lot}.png and .svg per batch, labels.html (an A4 sheet to "
                    "print at 100 %%) and labels.json into --out. Codes use error correction "
                    f"{qr.DEFAULT_ERROR_LEVEL} and a {qr.QUIET_ZONE}-module quiet zone.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--gtin", help="GTIN-8/12/13/14 of one batch (check digit verified)")
    src.add_argument("--batches", type=Path, metavar="FILE",
                     help="CSV (gtin,lot[,expiry][,name]) or JSON list of such objects")
    src.add_argument("--from-chain", action="store_true",
                     help="every batch commissioned in the deployment")
    p.add_argument("--lot", help="lot number (with --gtin)")
    p.add_argument("--expiry", help="expiry date YYYY-MM-DD / YYYYMMDD / YYMMDD (with --gtin)")
    p.add_argument("--name", help="product name printed under the code (with --gtin)")
    p.add_argument("--expiry-in-link", action="store_true",
                   help="add the expiry to the link as ?17=YYMMDD (GS1 AI 17)")
    p.add_argument("--base-url", default=qr.DEFAULT_BASE_URL, metavar="URL",
                   help=f"resolver the codes point to (default {qr.DEFAULT_BASE_URL}); "
                        "end it with /# for a static host without rewrites")
    p.add_argument("--error-correction", default=qr.DEFAULT_ERROR_LEVEL,
                   choices=sorted(qr.ERROR_LEVELS), help="QR error-correction level")
    p.add_argument("--out", type=Path, default=Path("labels"), metavar="DIR",
                   help="output folder (default ./labels)")
    p.add_argument("--products", type=Path, metavar="FILE",
                   help="product names by GTIN (default frontend/config/products.json if present)")
    p.add_argument("--lang", default="zh-CN", help="language of product names from --products")
    p.add_argument("--rpc", metavar="URL",
                   help="JSON-RPC endpoint for --from-chain (default $MILKTRACE_RPC or "
                        "http://127.0.0.1:8545)")
    p.add_argument("--deployment", type=Path, metavar="FILE",
                   help="deployment manifest for --from-chain (default deployments/<chainId>.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    products_path = args.products
    if products_path is None:
        default = project_root() / "frontend" / "config" / "products.json"
        products_path = default if default.is_file() else None
    products = qr.load_products(products_path)
    if args.gtin is not None:
        if not args.lot:
            raise InvalidIdentifier("--gtin needs --lot (the batch's lot number)")
        label = qr.Label.make(args.gtin, args.lot, args.expiry, args.name)
        if label.name is None:
            label = qr.Label(label.gtin, label.lot, label.expiry,
                             qr.product_name(products, label.gtin, args.lang))
        labels = [label]
    elif args.batches is not None:
        labels = qr.read_batches_file(args.batches)
    else:
        from milktrace.chain import Deployment, connect, load_deployment

        rpc = args.rpc or os.environ.get("MILKTRACE_RPC") or "http://127.0.0.1:8545"
        w3 = connect(rpc)
        dep: Deployment = load_deployment(w3, args.deployment)
        labels = qr.labels_from_chain(w3, dep, products, args.lang)
        if not labels:
            print(f"no batch commissioned in registry {dep.address} on chain {dep.chain_id}")
            return 1
    files = qr.write_labels(labels, args.out, args.base_url, args.expiry_in_link,
                            args.error_correction)
    for f in files:
        print(f"{f.uri}  {f.png}  {f.svg}")
    print(f"{len(files)} label(s); sheet: {args.out / 'labels.html'}")
    return 0
