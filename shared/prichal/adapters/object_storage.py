"""S3-compatible object storage through boto3: MinIO in production, moto's server locally.

Path-style addressing because MinIO and moto are reached by host:port, where virtual-host
buckets (``bucket.host``) do not resolve. Presigned GET URLs are signed locally, so they
cost no request and expire after ``expires_in`` seconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from prichal.domain.errors import Unavailable


class StorageUnavailable(Unavailable):
    code = "storage-unavailable"
    title = "Object storage is unavailable"


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int


class ObjectStorage:
    def __init__(self, endpoint_url: str | None, bucket: str, access_key: str, secret_key: str, region: str,
                 public_endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        config = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                        retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config,
                                         aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        # Presigned URLs carry the host they were signed for: sign with the address buyers reach.
        self._signer: Any = self._client if not public_endpoint_url else boto3.client(
            "s3", endpoint_url=public_endpoint_url, region_name=region, config=config,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key)

    def put_pdf(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> StoredObject:
        """Store (or overwrite: keys are deterministic) and return the digest recorded with it."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/pdf",
                                    Metadata={"sha256": digest, **(metadata or {})})
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"could not store {key}: {exc}") from exc
        return StoredObject(key, digest, len(data))

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageUnavailable(f"could not look up {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"could not look up {key}: {exc}") from exc
        return True

    def get(self, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"could not read {key}: {exc}") from exc

    def upload_stream(self, key: str, content_type: str, metadata: dict[str, str] | None = None,
                      part_size: int = 8 * 1024 * 1024) -> MultipartStream:
        """A file-like sink uploading ``key`` as a multipart stream (see ``MultipartStream``)."""
        return MultipartStream(self._client, self.bucket, key, content_type, metadata or {}, part_size)

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageUnavailable(f"could not look up {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"could not look up {key}: {exc}") from exc

    def presigned_get(self, key: str, expires_in: int, filename: str | None = None) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)


class MultipartStream:
    """Write bytes; every ``part_size`` of them goes up as one part of a multipart upload.

    Memory holds one part at most, whatever the object's size; sha256 and size are counted
    on the way. ``close()`` completes the upload (one small object is still a one-part
    upload); ``abort()`` (or leaving a ``with`` block by an exception) drops the parts, so
    a failed report leaves no half file. Used as a context manager.
    """

    def __init__(self, client: Any, bucket: str, key: str, content_type: str, metadata: dict[str, str],
                 part_size: int) -> None:
        self._client, self.bucket, self.key, self._part_size = client, bucket, key, max(part_size, 5 * 1024 * 1024)
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._digest = hashlib.sha256()
        self.size = 0
        try:
            self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type,
                                                             Metadata=metadata)["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"could not start uploading {key}: {exc}") from exc

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        self._digest.update(data)
        self.size += len(data)
        if len(self._buffer) >= self._part_size:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def _send(self, body: bytes) -> None:
        number = len(self._parts) + 1
        try:
            answer = self._client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                              PartNumber=number, Body=body)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"could not upload part {number} of {self.key}: {exc}") from exc
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def flush(self) -> None:
        pass

    def close(self) -> StoredObject:
        if self._buffer or not self._parts:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        try:
            self._client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                                   MultipartUpload={"Parts": self._parts})
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"could not complete {self.key}: {exc}") from exc
        return StoredObject(self.key, self._digest.hexdigest(), self.size)

    def abort(self) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        except (BotoCoreError, ClientError):
            pass  # an unfinished upload is swept by the bucket's lifecycle rule at worst

    def __enter__(self) -> MultipartStream:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
