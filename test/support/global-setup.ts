// Prepares what every test file shares: filled in by the catalog's database support.
export async function setup(): Promise<void> {}
