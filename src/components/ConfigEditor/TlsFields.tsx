import React from 'react';

import { SecureKey } from '../../types';
import { BoolField, BoolKey, SecretField } from './fields';

/** The same two TLS settings guard each HTTP target (the remote API, the Prometheus URL). */
export function TlsFields(props: { skipKey: BoolKey; caKey: SecureKey; caLabel: string; caDescription: string }) {
  const { skipKey, caKey, caLabel, caDescription } = props;
  return (
    <>
      <BoolField
        settingKey={skipKey}
        label="Skip TLS verification"
        description="Accept any certificate. For testing only."
        defaultValue={false}
      />
      <SecretField
        secretKey={caKey}
        label={caLabel}
        description={caDescription}
        multiline
        placeholder="-----BEGIN CERTIFICATE-----"
      />
    </>
  );
}
