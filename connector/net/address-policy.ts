// The address policy lives in kernel/ (one policy for the API and the connector); this path stays
// so the connector's existing imports keep working.
export { type AddressPolicy, addressProblem, DEFAULT_ADDRESS_POLICY } from '../../kernel/address-policy.ts';
