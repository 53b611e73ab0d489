// Swagger UI's prebuilt files, imported as text (wrangler.toml [[rules]] type "Text"), served by /docs.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const text: string;
  export default text;
}
// Browser scripts of the gateway's own pages (src/**/*.client.js), imported as text.
declare module "*.client.js" {
  const text: string;
  export default text;
}
