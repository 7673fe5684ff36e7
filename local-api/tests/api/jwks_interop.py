"""Our access tokens as an independent verifier sees them: PyJWT (with `cryptography`), given
nothing but the API's URL. Used by jwks_interop.rs; prints one JSON object on stdout.

    jwks_interop.py verify BASE_URL TOKEN AUDIENCE
        discovery document -> jwks_uri -> the key the token's kid names -> the verified claims,
        and a token with the same header and claims signed by a fresh key of the same
        algorithm, which PyJWT must refuse with the same JWKS (`forged`, for the API to refuse)
    jwks_interop.py hs256 SECRET KID CLAIMS_JSON
        an HS256 token with that key id and those claims, as the API signed them before
"""

import json
import sys
import urllib.request

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def verify(base_url, token, audience):
    discovery = get_json(base_url + "/.well-known/openid-configuration")
    jwks = jwt.PyJWKSet.from_dict(get_json(discovery["jwks_uri"]))
    header = jwt.get_unverified_header(token)
    key = next(key for key in jwks.keys if key.key_id == header["kid"])
    claims = jwt.decode(
        token,
        key,
        algorithms=discovery["id_token_signing_alg_values_supported"],
        audience=audience,
        issuer=discovery["issuer"],
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    foreign = ed25519.Ed25519PrivateKey.generate() if header["alg"] == "EdDSA" \
        else ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, foreign, algorithm=header["alg"], headers={"kid": header["kid"]})
    try:
        jwt.decode(forged, key, algorithms=[header["alg"]], audience=audience)
        forged_refused = False
    except jwt.InvalidSignatureError:
        forged_refused = True
    print(json.dumps({
        "alg": header["alg"],
        "key_alg": key.algorithm_name,
        "claims": claims,
        "forged": forged,
        "forged_refused": forged_refused,
    }))


def hs256(secret, kid, claims):
    print(json.dumps({"token": jwt.encode(json.loads(claims), secret, algorithm="HS256",
                                          headers={"kid": kid})}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"verify": verify, "hs256": hs256}[command](*args)
