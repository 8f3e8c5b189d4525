// Validates an OpenAPI 3 file with @apidevtools/swagger-parser (schema and $refs); used by
// tests/unit/test_http.c. Prints "ok N" (paths) or the validator's findings and exits 1.
const SwaggerParser = require('@apidevtools/swagger-parser');
SwaggerParser.validate(process.argv[2]).then(
    (api) => console.log('ok', Object.keys(api.paths).length),
    (err) => {
        console.error(err.message);
        process.exit(1);
    });
