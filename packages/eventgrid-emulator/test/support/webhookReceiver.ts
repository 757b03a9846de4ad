// The Event Grid subscriber stand-in lives with the emulator (the soak uses it too); tests import it from here.
export * from '../../src/local/eventgrid/webhookReceiver';
