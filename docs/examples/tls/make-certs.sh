#!/usr/bin/env bash
# Makes the certificates of the TLS example with openssl and a config directory that serves them:
#
#   OUT/config  the example's Gateways, VirtualServices and Upstream, plus the secrets Shardgate reads:
#                 secrets/shop/shop-tls.yaml          Gloo's TLS secret (certChain, privateKey)
#                 secrets/partners/partners-tls.yaml  a Kubernetes kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt)
#   OUT/pki     the CAs (keys included) and the partner's client certificate, for curl; never in the config dir
#
# Usage: make-certs.sh [OUT]   (OUT defaults to ./tls-example)
#
# Run it again to rotate: the CAs in OUT/pki are kept, every server and client certificate is issued anew, and the
# secret files are replaced atomically (a hidden temporary file, then a rename), so a running Shardgate pushes the
# new certificates to Envoy over SDS and Envoy serves them within a second, without touching its listeners.
# Nothing it writes belongs in git: the keys are made on your machine, for your machine.
set -euo pipefail
umask 077 # keys and the secrets holding them: readable by you only

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-tls-example}"
config="$out/config"
pki="$out/pki"
days=30

command -v openssl >/dev/null || { echo "make-certs.sh needs openssl" >&2; exit 1; }
mkdir -p "$config" "$pki"
if [ ! -d "$config/gateways" ]; then
  cp -R "$here/gateways" "$here/virtualservices" "$here/upstreams" "$config/"
fi

# ca NAME CN: a self-signed EC P-256 CA, made once and kept.
ca() {
  if [ -f "$pki/$1.key" ]; then return; fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=$2" -keyout "$pki/$1.key" -out "$pki/$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CN CA [DNS-NAME...]: an EC P-256 certificate for CN (subject alternative names: the DNS names), signed
# by CA, usable as TLS server and client.
leaf() {
  local name="$1" cn="$2" issuer="$3" ext="$pki/$1.ext" san=""
  shift 3
  for dns in "$@"; do san="${san:+$san,}DNS:$dns"; done
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
  } > "$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$issuer.crt" -CAkey "$pki/$issuer.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$ext"
}

# replace FILE: stdin to FILE by a rename, so Shardgate never reads half a secret.
replace() {
  mkdir -p "$(dirname "$1")"
  local tmp
  tmp="$(dirname "$1")/.$(basename "$1").writing"
  cat > "$tmp"
  mv -f "$tmp" "$1"
}

indent() { sed 's/^/    /' "$1"; }
b64() { openssl base64 -A -in "$1"; }

ca example-ca shardgate-example-ca
ca partners-client-ca shardgate-example-partners-client-ca
leaf shop shop.example.com example-ca shop.example.com
leaf partners partners.example.com example-ca partners.example.com
leaf partner-client partner-client partners-client-ca

# Gloo's TLS secret, in Gloo's flat form.
replace "$config/secrets/shop/shop-tls.yaml" <<EOF
metadata:
  name: shop-tls
  namespace: shop
tls:
  certChain: |
$(indent "$pki/shop.crt")
  privateKey: |
$(indent "$pki/shop.key")
EOF

# A Kubernetes TLS Secret, as kubectl create secret tls --dry-run=client -o yaml writes it, plus ca.crt: the CA
# whose client certificates partners.example.com accepts.
replace "$config/secrets/partners/partners-tls.yaml" <<EOF
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: partners-tls
  namespace: partners
data:
  tls.crt: $(b64 "$pki/partners.crt")
  tls.key: $(b64 "$pki/partners.key")
  ca.crt: $(b64 "$pki/partners-client-ca.crt")
EOF

echo "config: $config"
echo "pki:    $pki (CA: $pki/example-ca.crt, partner client: $pki/partner-client.crt + .key)"
