/* The command service's route table: one thin handler per command, each a call into the shared
 * pipeline in commands.c. */
#include "routes.h"
#include "commands.h"

#define COMMAND_HANDLER(fn, type)                                                                  \
    static void fn(struct request *r)                                                              \
    {                                                                                              \
        command_handle(r, type);                                                                   \
    }

COMMAND_HANDLER(handle_place_order, CMD_PLACE_ORDER)
COMMAND_HANDLER(handle_pay_order, CMD_PAY_ORDER)
COMMAND_HANDLER(handle_ship_order, CMD_SHIP_ORDER)
COMMAND_HANDLER(handle_cancel_order, CMD_CANCEL_ORDER)
COMMAND_HANDLER(handle_open_account, CMD_OPEN_ACCOUNT)
COMMAND_HANDLER(handle_deposit, CMD_DEPOSIT)
COMMAND_HANDLER(handle_withdraw, CMD_WITHDRAW)
COMMAND_HANDLER(handle_transfer_funds, CMD_TRANSFER_FUNDS)
COMMAND_HANDLER(handle_close_account, CMD_CLOSE_ACCOUNT)
COMMAND_HANDLER(handle_forget_personal_data, CMD_FORGET_PERSONAL_DATA)

const struct route command_routes[] = {
    {"POST", "/v1/orders", handle_place_order},
    {"POST", "/v1/orders/{id}/pay", handle_pay_order},
    {"POST", "/v1/orders/{id}/ship", handle_ship_order},
    {"POST", "/v1/orders/{id}/cancel", handle_cancel_order},
    {"POST", "/v1/accounts", handle_open_account},
    {"POST", "/v1/accounts/{id}/deposit", handle_deposit},
    {"POST", "/v1/accounts/{id}/withdraw", handle_withdraw},
    {"POST", "/v1/accounts/{id}/close", handle_close_account},
    {"POST", "/v1/accounts/{id}/forget", handle_forget_personal_data},
    {"POST", "/v1/transfers", handle_transfer_funds},
    {"GET", "/healthz", http_handle_healthz},
    {"GET", "/readyz", commands_handle_readyz},
    {"GET", "/metrics", http_handle_metrics},
};

const size_t command_route_count = sizeof command_routes / sizeof command_routes[0];
