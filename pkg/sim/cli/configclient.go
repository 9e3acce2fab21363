package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// requestTimeout bounds one config API request of the client commands.
const requestTimeout = 10 * time.Second

// configClient calls a Contrail config API (the simulator's or a real one
// without authentication) for the client subcommands, through the
// project's config API client.
type configClient struct {
	api *vncclient.Client
}

func newConfigClient(baseURL string) *configClient {
	return &configClient{api: vncclient.New(baseURL, requestTimeout)}
}

// isStatus reports whether err is a config API reply with the given status.
func isStatus(err error, status int) bool {
	var e *vncclient.APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// fqNameToID returns the uuid of the object typ named fq. A missing object
// gives a vncclient.APIError with status 404.
func (c *configClient) fqNameToID(ctx context.Context, typ string, fq []string) (string, error) {
	return c.api.FQNameToID(ctx, typ, fq)
}

// create creates an object of type typ from fields (fq_name, parent_type,
// properties and refs) and returns its uuid, which it looks up by fq_name
// because the create reply is not read.
func (c *configClient) create(ctx context.Context, typ string, fields map[string]any) (string, error) {
	fq, ok := fields["fq_name"].([]string)
	if !ok {
		return "", fmt.Errorf("create %s: fields have no fq_name list", typ)
	}
	if err := c.api.Create(ctx, typ, fields); err != nil {
		return "", err
	}
	return c.api.FQNameToID(ctx, typ, fq)
}

// delete deletes the object typ with uuid.
func (c *configClient) delete(ctx context.Context, typ, uuid string) error {
	return c.api.Delete(ctx, typ, uuid)
}
