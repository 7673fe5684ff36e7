"""A TLS front for a plain-HTTP emulator: a throw-away CA, a certificate it signs, and a proxy that
terminates TLS on loopback and forwards the bytes. Used by bench/coldstart so the functions pay
for a trust store, a handshake and their crypto library's start-up, as they do on Lambda."""

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory, hosts):
    """Writes ca.pem, cert.pem (the CA's certificate for `hosts`) and key.pem into `directory`.
    RSA 2048 throughout, as the certificates AWS's endpoints present."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder()
          .subject_name(_name("bench throw-away CA")).issuer_name(_name("bench throw-away CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(_name(hosts[0])).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return paths


class TlsFront:
    """`with TlsFront(cert, key, (host, port)) as front:` serves TLS on 127.0.0.1 and ::1 at
    `front.port`, forwarding each connection to the plain-TCP `upstream`."""

    def __init__(self, cert, key, upstream):
        self.upstream = upstream
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.port = None
        self._ready = threading.Event()

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_):
        self.loop.call_soon_threadsafe(self.loop.stop)

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        hosts = ["127.0.0.1"] + (["::1"] if socket.has_ipv6 else [])
        try:
            server = self.loop.run_until_complete(
                asyncio.start_server(self._proxy, hosts, self.port, ssl=self.context))
        except OSError:  # no IPv6 loopback here
            server = self.loop.run_until_complete(
                asyncio.start_server(self._proxy, "127.0.0.1", self.port, ssl=self.context))
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    async def _proxy(self, client_reader, client_writer):
        try:
            reader, writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))
