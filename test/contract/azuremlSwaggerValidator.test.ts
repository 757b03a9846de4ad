// The contract tests' validator reads Swagger the way AutoRest does: the published examples of the
// contracts must pass it, and a shape the swagger forbids must not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTRACT_FILES, CONTRACTS_DIR, SwaggerValidator } from '../support/swaggerSchemas';

const validator = new SwaggerValidator();

function example(relative: string): { responses: Record<string, { body?: unknown }> } {
  return JSON.parse(fs.readFileSync(path.join(CONTRACTS_DIR, relative), 'utf8')) as { responses: Record<string, { body?: unknown }> };
}

describe('swagger validator used by the Azure ML contract tests', () => {
  it.each([
    ['azureml-arm/2022-10-01/examples/BatchEndpoint/get.json', 'BatchEndpointTrackedResource'],
    ['azureml-arm/2022-10-01/examples/BatchEndpoint/list.json', 'BatchEndpointTrackedResourceArmPaginatedResult'],
    ['azureml-arm/2022-10-01/examples/BatchDeployment/get.json', 'BatchDeploymentTrackedResource'],
    ['azureml-arm/2022-10-01/examples/BatchDeployment/list.json', 'BatchDeploymentTrackedResourceArmPaginatedResult'],
    ['azureml-arm/2022-10-01/examples/Job/PipelineJob/get.json', 'JobBaseResource'],
    ['azureml-arm/2022-10-01/examples/Job/CommandJob/get.json', 'JobBaseResource'],
    ['azureml-arm/2022-10-01/examples/Job/PipelineJob/list.json', 'JobBaseResourceArmPaginatedResult'],
    ['azureml-arm/2022-10-01/examples/ModelVersion/get.json', 'ModelVersionResource'],
    ['azureml-arm/2022-10-01/examples/ModelVersion/list.json', 'ModelVersionResourceArmPaginatedResult'],
    ['azureml-arm/2022-10-01/examples/ModelContainer/get.json', 'ModelContainerResource'],
  ])('accepts the published example %s as %s', (file, definition) => {
    expect(validator.validate(CONTRACT_FILES.arm, definition, example(file).responses['200'].body)).toEqual([]);
  });

  it('rejects a batch endpoint with a property the swagger does not define', () => {
    const body = example('azureml-arm/2022-10-01/examples/BatchEndpoint/get.json').responses['200'].body as { properties: Record<string, unknown> };
    const errors = validator.validate(CONTRACT_FILES.arm, 'BatchEndpointTrackedResource', { ...body, properties: { ...body.properties, swaggerLink: 'x' } });
    expect(errors.join('\n')).toMatch(/additional properties/);
  });

  it('rejects a job input whose discriminator names no subtype', () => {
    const body = example('azureml-arm/2022-10-01/examples/Job/PipelineJob/get.json').responses['200'].body as { properties: Record<string, unknown> };
    const errors = validator.validate(CONTRACT_FILES.arm, 'JobBaseResource', { ...body, properties: { ...body.properties, inputs: { a: { jobInputType: 'UriFolder', uri: 'x' } } } });
    expect(errors.length).toBeGreaterThan(0);
  });
});
