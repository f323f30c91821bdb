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

    def presigned_get(self, key: str, expires_in: int, filename: str | None = None) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
