// Placeholder: the foundation fills this with the Postgres template set-up.
export default async function setup(): Promise<void> {}
